package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

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

    /** Whole bytes, as {@code openssl x509 -serial} prints them: a leading zero digit is kept, a sign byte is not. */
    @Test
    void serialNumberHexIsOpensslsForm() throws Exception {
        assertEquals("0f7b855d5d3e484e018fc59cac0fe09d", withSerial("0F7B855D5D3E484E018FC59CAC0FE09D").serialNumberHex());
        assertEquals("860497dc543a9f97ddf95b6d43e8bf", withSerial("860497DC543A9F97DDF95B6D43E8BF").serialNumberHex());
        assertEquals("01", withSerial("1").serialNumberHex());
    }
}
