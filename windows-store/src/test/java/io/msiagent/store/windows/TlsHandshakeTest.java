package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.TestCredentials;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Real TLS handshakes on loopback with client authentication, the client's CertificateVerify signed
 * by our JCA provider over the fake boundary (so JSSE really picks our Signature by delayed
 * selection; the fake records which padding JSSE asked for).
 */
class TlsHandshakeTest {
    private final TestCredentials ca = TestCredentials.newCa();
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private X509Certificate certFor(ManagedKey key) {
        return ca.issue(key.publicKey(), Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofDays(1)));
    }

    @Test
    void tls13ClientAuthSignsPssInsideCng() throws Exception {
        FakeWindowsCrypto fake = new FakeWindowsCrypto();
        ManagedKey key = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.SOFTWARE);
        X509Certificate cert = certFor(key);
        MsiAgentCngProvider.install();
        fake.signCalls.clear();

        LoopbackTls.Result r = LoopbackTls.handshake(executor, ca, key.privateKey(), List.of(cert), "TLSv1.3");

        assertEquals("TLSv1.3", r.protocol());
        assertEquals(cert, r.peerCertificate());
        assertEquals(List.of(WindowsCrypto.SignPadding.pss("SHA256", 32)), fake.signCalls);
    }

    @Test
    void aPkcs1OnlyTpmKeyAuthenticatesOverTls12WithRsaPkcs1() throws Exception {
        FakeWindowsCrypto fake = new FakeWindowsCrypto();
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.tpmWithoutPss = true;
        ManagedKey key = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.TPM);
        X509Certificate cert = certFor(key);
        MsiAgentCngProvider.install();
        fake.signCalls.clear();

        LoopbackTls.Result r = LoopbackTls.handshake(executor, ca, key.privateKey(), List.of(cert), "TLSv1.2");

        assertEquals("TLSv1.2", r.protocol());
        assertEquals(cert, r.peerCertificate());
        assertEquals(1, fake.signCalls.size());
        assertEquals(WindowsCrypto.SignPadding.Kind.PKCS1, fake.signCalls.get(0).kind(),
                "JSSE skipped rsa_pss_* because our PSS Signature refused the key: " + fake.signCalls);
    }

    @Test
    void aPkcs1OnlyTpmKeyCannotAuthenticateOverTls13() throws Exception {
        FakeWindowsCrypto fake = new FakeWindowsCrypto();
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.tpmWithoutPss = true;
        ManagedKey key = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.TPM);
        X509Certificate cert = certFor(key);
        MsiAgentCngProvider.install();

        assertThrows(SSLException.class,
                () -> LoopbackTls.handshake(executor, ca, key.privateKey(), List.of(cert), "TLSv1.3"));
        assertFalse(((CngPrivateKey) key.privateKey()).canSignRsaPss());
    }
}
