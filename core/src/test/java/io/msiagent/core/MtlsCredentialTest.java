package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.msiagent.core.testing.TestCredentials;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class MtlsCredentialTest {
    private static final KeyPair KEYS = TestCredentials.rsa2048();

    private static MtlsCredential withSerial(String hex) throws Exception {
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=" + TestCredentials.CLIENT_ID);
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
                new BigInteger(hex, 16), Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), name,
                KEYS.getPublic()).build(new JcaContentSignerBuilder("SHA256withRSA").build(KEYS.getPrivate())));
        return MtlsCredential.builder().identity(ManagedIdentityId.systemAssigned()).chain(List.of(cert))
                .privateKey(KEYS.getPrivate()).clientId(TestCredentials.CLIENT_ID).tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/t/oauth2/v2.0/token").renewAt(now).keyProtection(KeyProtection.SOFTWARE)
                .build();
    }

    /**
     * Whole bytes, as {@code openssl x509 -serial} prints them: a leading zero digit is kept, a sign
     * byte is not. The same for a stored credential, read from its DER before anything is decoded.
     */
    @Test
    void serialNumberHexIsOpensslsForm() throws Exception {
        for (String[] serial : new String[][] {
            {"0F7B855D5D3E484E018FC59CAC0FE09D", "0f7b855d5d3e484e018fc59cac0fe09d"},
            {"860497DC543A9F97DDF95B6D43E8BF", "860497dc543a9f97ddf95b6d43e8bf"},
            {"1", "01"}}) {
            MtlsCredential c = withSerial(serial[0]);
            assertEquals(serial[1], c.serialNumberHex());
            EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(KEYS.getPrivate().getEncoded(),
                    c.certificate().getEncoded()).orElseThrow();
            assertEquals(serial[1], c.toBuilder().encoded(e).build().serialNumberHex());
            assertFalse(e.decoded());
        }
    }
}
