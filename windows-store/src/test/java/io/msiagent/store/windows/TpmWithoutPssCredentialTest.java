package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.TestCredentials;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A TPM whose keys cannot sign RSA-PSS with salt = hash length (modelled by the fake): the
 * restriction travels from key creation through the store to the credential, and core's TLS
 * context then authenticates with it over TLS 1.2 (PKCS#1 inside "CNG") against a server that
 * offers TLS 1.3 too.
 */
class TpmWithoutPssCredentialTest {
    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();
    private final TestCredentials ca = TestCredentials.newCa();
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private ManagedKey tpmKey() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.tpmWithoutPss = true;
        ManagedKey key = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.TPM);
        assertEquals(KeyProtection.TPM, key.protection());
        return key;
    }

    private MtlsCredential credential(ManagedKey key) {
        Instant notBefore = Instant.now().minus(Duration.ofMinutes(1));
        X509Certificate cert = ca.issue(key.publicKey(), notBefore, notBefore.plus(Duration.ofDays(1)));
        return MtlsCredential.builder()
                .identity(ManagedIdentityId.systemAssigned())
                .chain(List.of(cert))
                .privateKey(key.privateKey())
                .clientId(TestCredentials.CLIENT_ID)
                .tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/" + TestCredentials.TENANT_ID + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(Duration.ofHours(12)))
                .keyProtection(key.protection())
                .attested(false)
                .build();
    }

    @Test
    void theRestrictionTravelsThroughTheStoreToTheCredential() {
        ManagedKey key = tpmKey();
        MtlsCredential issued = credential(key);
        assertFalse(issued.supportsTls13ClientAuth());
        String why = issued.tlsRestriction().orElseThrow();
        assertTrue(why.startsWith("TLS 1.2 only"), why);
        assertTrue(why.contains(key.keyId()) && why.contains("TPM"), why);

        new WindowsCertStore(fake, Clock.systemUTC()).save(issued);
        LoadResult r = new WindowsCertStore(fake, Clock.systemUTC()).load(ManagedIdentityId.systemAssigned());
        MtlsCredential loaded = r.credential().orElseThrow();
        assertInstanceOf(CngPrivateKey.class, loaded.privateKey());
        assertFalse(loaded.supportsTls13ClientAuth(), "a reloaded credential (another process) is still TLS 1.2 only");
        assertEquals(issued.tlsRestriction(), loaded.tlsRestriction());
    }

    @Test
    void keysThatSignPssAreNotRestricted() {
        ManagedKey keyGuard = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.KEYGUARD, keyGuard.protection());
        assertTrue(credential(keyGuard).tlsRestriction().isEmpty());

        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        ManagedKey tpm = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.TPM, tpm.protection());
        assertTrue(credential(tpm).supportsTls13ClientAuth(), "a TPM that does PSS with salt = hash length");
    }

    @Test
    void theCacheContextAuthenticatesWithTheTpmKeyOverTls12() throws Exception {
        new WindowsCertStore(fake, Clock.systemUTC()).save(credential(tpmKey()));
        KeyPair serverKeys = TestCredentials.rsa2048();
        X509Certificate serverCert = LoopbackTls.selfSigned(serverKeys);
        try (MsiCredentialCache cache = MsiCredentialCache.builder()
                .store(new WindowsCertStore(fake, Clock.systemUTC()))
                .keyProvider(CngKeyProvider.builder().crypto(fake).build())
                .keyAttestor(null)
                .trustedCertificates(List.of(serverCert))
                .build()) {
            fake.signCalls.clear();

            LoopbackTls.Result r = LoopbackTls.handshake(executor, ca, serverKeys, serverCert, cache.sslContext(), null);

            assertEquals("TLSv1.2", r.protocol());
            assertEquals(cache.get().certificate(), r.peerCertificate());
            assertFalse(fake.signCalls.isEmpty());
            assertTrue(fake.signCalls.stream().allMatch(p -> p.kind() == WindowsCrypto.SignPadding.Kind.PKCS1),
                    "CertificateVerify signed PKCS#1 inside the TPM key: " + fake.signCalls);
        }
    }
}
