package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The PEM file as other tools write it: what is read, what is skipped, what is refused. */
class PemCodecTest {
    static TestCredentials ca;
    static MtlsCredential credential;
    static String keyBlock;
    static String certBlock;
    static String caBlock;

    @BeforeAll
    static void credentials() throws Exception {
        ca = TestCredentials.newCa();
        credential = ca.credential(ManagedIdentityId.systemAssigned());
        String pem = text(PemCodec.encode(credential.privateKey().getEncoded(), List.of(credential.certificate(), ca.caCertificate())));
        int cert = pem.indexOf("-----BEGIN CERTIFICATE-----");
        int second = pem.indexOf("-----BEGIN CERTIFICATE-----", cert + 1);
        keyBlock = pem.substring(0, cert);
        certBlock = pem.substring(cert, second);
        caBlock = pem.substring(second);
    }

    @Test
    void readsWhatItWritesKeyThenLeafThenIntermediates() throws Exception {
        PemCodec.Decoded c = PemCodec.decode(bytes(keyBlock + certBlock + caBlock)).decodeWithJdk();
        assertArrayEquals(credential.privateKey().getEncoded(), c.privateKey().getEncoded());
        assertEquals(List.of(credential.certificate(), ca.caCertificate()), c.chain());
    }

    @Test
    void skipsTextOtherBlockTypesAndMalformedBlocksAsOpensslDoes() throws Exception {
        String crlf = (keyBlock + "Bag Attributes: localKeyID 01\n" + certBlock).replace("\n", "\r\n");
        String noise = "subject=CN=x\n"
                + "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
                + "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n" // skipped: '*' in the body
                + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n" // skipped: no matching END
                + "-----BEGIN lower-----\nAAAA\n-----END lower-----\n"
                + "-----BEGIN EC PARAMETERS-----\nAA=A\n-----END EC PARAMETERS-----\n" // another type: not even decoded
                + "-----BEGIN CERTIFICATE-----\rAAAA\r-----END CERTIFICATE-----\r".replace("AAAA", "not-base64")
                + crlf + "trailing text";
        PemCodec.Decoded c = PemCodec.decode(bytes(noise)).decodeWithJdk();
        assertEquals(List.of(credential.certificate()), c.chain());
        assertArrayEquals(credential.privateKey().getEncoded(), c.privateKey().getEncoded());
    }

    @Test
    void refusesMissingDuplicateOrUnparsableParts() {
        String truncated = keyBlock + certBlock.substring(0, certBlock.length() / 2);
        for (String[] bad : new String[][] {
            {certBlock, "no complete PRIVATE KEY block"},
            {keyBlock, "no complete CERTIFICATE block"},
            {truncated, "no complete CERTIFICATE block"},
            {keyBlock + keyBlock + certBlock, "more than one PRIVATE KEY block"},
            {keyBlock.replace("-----\n", "-----") + certBlock, "no complete PRIVATE KEY block"},
            {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + certBlock, "PRIVATE KEY block is not a PKCS#8 RSA key"},
            {keyBlock + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "CERTIFICATE block is not a DER X.509 certificate"},
            {keyBlock + "-----BEGIN CERTIFICATE-----\nAA=A\n-----END CERTIFICATE-----\n", "PEM block is not base64"},
            {"", "no complete PRIVATE KEY block"}}) {
            PemCodec.MalformedPemException e = assertThrows(PemCodec.MalformedPemException.class, () -> PemCodec.decode(bytes(bad[0])).decodeWithJdk());
            assertEquals(bad[1], e.getMessage());
        }
    }

    @Test
    void writesSixtyFourColumnBlocksThatEndWithANewline() throws Exception {
        String pem = text(PemCodec.encode(credential.privateKey().getEncoded(), List.of(credential.certificate())));
        assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----\n") && pem.endsWith("-----END CERTIFICATE-----\n"), pem);
        for (String line : pem.split("\n")) {
            assertTrue(line.length() <= 64, line);
        }
        X509Certificate leaf = PemCodec.decode(bytes(pem)).decodeWithJdk().chain().get(0);
        assertEquals(credential.certificate(), leaf);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.US_ASCII);
    }
}
