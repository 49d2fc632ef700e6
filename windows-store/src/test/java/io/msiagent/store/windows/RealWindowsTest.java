package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.spi.StoreOptions;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing, on Windows only: real CNG keys, the real {@code CurrentUser\My}, a child JVM
 * that reopens the credential, and an mTLS handshake on loopback signed inside CNG. Each test uses
 * a fresh user-assigned identity and deletes what it made. Skipped (reported as such) elsewhere.
 */
@EnabledOnOs(OS.WINDOWS)
@SuppressWarnings("try") // locks held by try-with-resources without being referenced
class RealWindowsTest {
    static final byte[] MESSAGE = "signed in another process".getBytes(StandardCharsets.UTF_8);

    private final ManagedIdentityId identity = ManagedIdentityId.clientId(UUID.randomUUID().toString());
    private final TestCredentials ca = TestCredentials.newCa();
    private final CngKeyProvider keys = new CngKeyProvider();
    private final CredentialStore store = new WindowsCertStoreProvider().create(StoreOptions.defaults());
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void cleanUp() {
        store.delete(identity);
        executor.shutdownNow();
    }

    /** Run in a child JVM: loads the identity's credential, signs {@link #MESSAGE}, prints x5t and signature. */
    public static final class Reopen {
        public static void main(String[] args) throws Exception {
            ManagedIdentityId id = ManagedIdentityId.clientId(args[0]);
            CredentialStore s = new WindowsCertStoreProvider().create(StoreOptions.defaults());
            MtlsCredential c = s.load(id).credential().orElseThrow(() -> new IllegalStateException("not found"));
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initSign(c.privateKey());
            sig.update(MESSAGE);
            System.out.println("x5t=" + c.x5tS256());
            System.out.println("sig=" + Base64.getEncoder().encodeToString(sig.sign()));
            System.out.println("provider=" + sig.getProvider().getName());
        }
    }

    private MtlsCredential credential(ManagedKey key) {
        Instant now = Instant.now();
        X509Certificate cert = ca.issue(key.publicKey(), now.minus(Duration.ofMinutes(1)), now.plus(Duration.ofDays(1)));
        return MtlsCredential.builder().identity(identity).chain(List.of(cert)).privateKey(key.privateKey())
                .clientId(TestCredentials.CLIENT_ID).tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/t/oauth2/v2.0/token").renewAt(now.plus(Duration.ofHours(12)))
                .keyProtection(key.protection()).attested(false).build();
    }

    @Test
    void createPersistReopenInAnotherProcessHandshakeDelete(@TempDir Path dir) throws Exception {
        assertTrue(keys.isSupported());
        ManagedKey key = keys.create(KeyProtection.SOFTWARE);
        MtlsCredential saved = credential(key);
        store.save(saved);

        Path out = dir.resolve("child.txt");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Reopen.class.getName(),
                identity.value()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join("\n", lines));
        assertTrue(lines.contains("x5t=" + saved.x5tS256()), lines.toString());
        assertTrue(lines.contains("provider=" + MsiAgentCngProvider.NAME), lines.toString());
        String sig = lines.stream().filter(l -> l.startsWith("sig=")).findFirst().orElseThrow().substring(4);
        Signature verify = Signature.getInstance("SHA256withRSA");
        verify.initVerify(saved.certificate());
        verify.update(MESSAGE);
        assertTrue(verify.verify(Base64.getDecoder().decode(sig)), "the child signed with the persisted CNG key");

        MtlsCredential loaded = store.load(identity).credential().orElseThrow();
        CngPrivateKey cng = (CngPrivateKey) loaded.privateKey();
        String protocol = cng.canSignRsaPss() ? "TLSv1.3" : "TLSv1.2";
        LoopbackTls.Result r = LoopbackTls.handshake(executor, ca, loaded.privateKey(), loaded.chain(), protocol);
        assertEquals(saved.certificate(), r.peerCertificate());

        assertEquals(1, store.delete(identity).size());
        assertEquals(LoadResult.Kind.ABSENT, store.load(identity).kind());
        WindowsCryptoException gone = assertThrows(WindowsCryptoException.class, () -> CngKeys.open(
                JnaWindowsCrypto.shared(), cng.keyName(), cng.providerName(), cng.protection(), cng.canSignRsaPss()));
        assertEquals(WinApi.NTE_BAD_KEYSET, gone.status());
    }

    @Test
    void keysAreNonExportable() {
        ManagedKey key = keys.create(KeyProtection.SOFTWARE);
        try {
            CngPrivateKey cng = (CngPrivateKey) key.privateKey();
            WindowsCrypto crypto = JnaWindowsCrypto.shared();
            assertEquals(0, WinApi.readDword(crypto.getProperty(cng.handle(), WinApi.NCRYPT_EXPORT_POLICY_PROPERTY)));
            assertEquals(null, cng.getEncoded());
        } finally {
            key.discard();
        }
    }

    @Test
    void keyGuardWhereAvailable() {
        assumeTrue(keys.bestAvailableProtection() == KeyProtection.KEYGUARD, "no VBS key isolation on this machine");
        ManagedKey key = keys.create(KeyProtection.KEYGUARD);
        try {
            assertTrue(CngKeys.isVirtualIsolated(JnaWindowsCrypto.shared(), ((CngPrivateKey) key.privateKey()).handle()));
        } finally {
            key.discard();
        }
    }

    @Test
    void requiringKeyGuardWhereItIsMissingFailsClosed() {
        assumeTrue(keys.bestAvailableProtection() != KeyProtection.KEYGUARD, "this machine has KeyGuard");
        assertThrows(io.msiagent.core.MsiCredentialException.class, () -> keys.create(KeyProtection.KEYGUARD));
    }

    @Test
    void theNamedMutexExcludesOtherThreadsAndIsReentrant() throws Exception {
        try (StoreLock outer = store.lock(identity, Duration.ofSeconds(5));
                StoreLock inner = store.lock(identity, Duration.ofSeconds(5))) {
            var other = executor.submit(() -> store.lock(identity, Duration.ofMillis(200)));
            Exception e = assertThrows(Exception.class, () -> other.get(30, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof io.msiagent.core.StoreException, String.valueOf(e.getCause()));
        }
    }

    @Test
    void coresTlsContextAuthenticatesWithTheStoredKeyAtTheVersionTheKeyAllows() throws Exception {
        MtlsCredential saved = credential(keys.create(KeyProtection.SOFTWARE));
        store.save(saved);
        KeyPair serverKeys = TestCredentials.rsa2048();
        X509Certificate serverCert = LoopbackTls.selfSigned(serverKeys);
        try (MsiCredentialCache cache = MsiCredentialCache.builder().identity(identity).store(store).keyProvider(keys)
                .keyAttestor(null).trustedCertificates(List.of(serverCert)).build()) {
            LoopbackTls.Result r = LoopbackTls.handshake(executor, ca, serverKeys, serverCert, cache.sslContext(), null);
            assertEquals(saved.certificate(), r.peerCertificate());
            assertEquals(saved.supportsTls13ClientAuth() ? "TLSv1.3" : "TLSv1.2", r.protocol(),
                    "TLS 1.3 unless the key cannot sign RSA-PSS: " + saved.tlsRestriction());
        }
    }

    @Test
    void doctorsKeyChecksDoNotFailAndProbeTheStoredKey() {
        store.save(credential(keys.create(KeyProtection.SOFTWARE)));
        MtlsCredential loaded = store.load(identity).credential().orElseThrow();
        List<KeyProtectionDiagnostics.Finding> findings = KeyProtectionDiagnostics.forThisMachine().orElseThrow()
                .findings(loaded);
        assertEquals(List.of("keyguard", "tpm", "key-alive"),
                findings.stream().map(KeyProtectionDiagnostics.Finding::check).toList());
        assertTrue(findings.stream().noneMatch(f -> f.result() == KeyProtectionDiagnostics.Result.FAIL), findings::toString);
        assertEquals(KeyProtectionDiagnostics.Result.PASS, findings.get(2).result(), findings.get(2).detail());
    }
}
