package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.msiagent.core.KeyMatch;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.testing.TestCredentials;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreOptions;
import io.msiagent.core.spi.StoreLock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files are usable by the tools people point at them: openssl, curl (same PEM parser), keytool, KeyStore. */
class InteropTest {
    static MtlsCredential credential;

    @TempDir
    Path dir;

    @BeforeAll
    static void credential() {
        credential = TestCredentials.newCa().credential(SYSTEM);
    }

    record Result(int exit, String out) {
    }

    static Result run(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, cmd[0] + " is not installed");
            throw e;
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void opensslReadsThePemAndItsKeyMatchesItsCertificate() throws Exception {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        store.save(credential);
        String pem = store.pemFile(SYSTEM).toString();
        Result certKey = run("openssl", "x509", "-noout", "-pubkey", "-in", pem);
        Result privKey = run("openssl", "pkey", "-pubout", "-in", pem);
        assertEquals(0, certKey.exit(), certKey.out());
        assertEquals(0, privKey.exit(), privKey.out());
        assertTrue(certKey.out().contains("BEGIN PUBLIC KEY"), certKey.out());
        assertEquals(certKey.out(), privKey.out());
        Result fingerprint = run("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem);
        assertEquals(0, fingerprint.exit());
        String hex = fingerprint.out().substring(fingerprint.out().indexOf('=') + 1).trim().replace(":", "");
        assertEquals(credential.x5tS256(), java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(java.util.HexFormat.of().parseHex(hex)));
    }

    @Test
    void pkcs12IsReadByKeytoolOpensslAndKeyStoreWithTheEmptyPassword() throws Exception {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        store.save(credential);
        Path pfx = store.pkcs12File(SYSTEM);
        assertEquals("rw-------", LinuxCredentialStoreTest.mode(pfx));

        Result keytool = run(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-list",
                "-storetype", "PKCS12", "-keystore", pfx.toString(), "-storepass", "");
        assertEquals(0, keytool.exit(), keytool.out());
        assertTrue(keytool.out().contains("msal_mtls, ") && keytool.out().contains("PrivateKeyEntry"), keytool.out());

        Result info = run("openssl", "pkcs12", "-info", "-nokeys", "-noout", "-in", pfx.toString(), "-passin", "pass:");
        assertEquals(0, info.exit(), info.out());
        assertTrue(info.out().contains("PBES2") && info.out().contains("AES-256"), "no legacy algorithms: " + info.out());
        Result nodes = run("openssl", "pkcs12", "-in", pfx.toString(), "-passin", "pass:", "-nodes");
        assertEquals(0, nodes.exit(), nodes.out());
        assertTrue(nodes.out().contains("BEGIN PRIVATE KEY") && nodes.out().contains("BEGIN CERTIFICATE"));

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pfx)) {
            ks.load(in, new char[0]);
        }
        PrivateKey key = (PrivateKey) ks.getKey(Pkcs12Codec.ALIAS, new char[0]);
        X509Certificate cert = (X509Certificate) ks.getCertificate(Pkcs12Codec.ALIAS);
        assertEquals(credential.certificate(), cert);
        assertTrue(KeyMatch.matches(cert.getPublicKey(), key));
        assertArrayEquals(credential.privateKey().getEncoded(), key.getEncoded());
    }

    @Test
    void anExistingPkcs12IsKeptUpToDateEvenWhenNotAskedFor() throws Exception {
        LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build().save(credential);
        MtlsCredential next = TestCredentials.newCa().credential(SYSTEM);
        LinuxCredentialStore.builder().directory(dir).build().save(next);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve("msal_mtls.pfx"))) {
            ks.load(in, new char[0]);
        }
        assertEquals(next.certificate(), ks.getCertificate(Pkcs12Codec.ALIAS));
    }

    @Test
    void aPkcs12FileTurnedOnLaterIsWrittenFromTheStoredCredentialAtTheNextRead() throws Exception {
        LinuxCredentialStore.builder().directory(dir).build().save(credential);
        LinuxCredentialStore withPfx = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        Path pfx = withPfx.pkcs12File(SYSTEM);
        assertFalse(Files.exists(pfx));

        // Another holder of the lock (a renewal elsewhere, a hung process): served at once, the file left for later.
        ExecutorService holder = Executors.newSingleThreadExecutor();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Future<?> holding = holder.submit(() -> {
            try (StoreLock lock = withPfx.lock(SYSTEM, Duration.ofSeconds(5))) {
                held.countDown();
                release.await();
            }
            return null;
        });
        try {
            assertTrue(held.await(10, TimeUnit.SECONDS));
            Optional<MtlsCredential> served = assertTimeoutPreemptively(Duration.ofMillis(900), () -> withPfx.peek(SYSTEM),
                    "a peek waited for the lock");
            assertEquals(credential.x5tS256(), served.orElseThrow().x5tS256());
            assertFalse(Files.exists(pfx), "not written without the lock");
        } finally {
            release.countDown();
            holding.get(10, TimeUnit.SECONDS);
            holder.shutdown();
        }

        assertEquals(credential.x5tS256(), withPfx.peek(SYSTEM).orElseThrow().x5tS256());
        assertEquals("rw-------", LinuxCredentialStoreTest.mode(pfx));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pfx)) {
            ks.load(in, new char[0]);
        }
        assertEquals(credential.certificate(), ks.getCertificate(Pkcs12Codec.ALIAS));
        assertArrayEquals(credential.privateKey().getEncoded(), ks.getKey(Pkcs12Codec.ALIAS, new char[0]).getEncoded());

        Files.delete(pfx);
        assertEquals(LoadResult.Kind.FOUND, withPfx.load(SYSTEM).kind());
        assertTrue(Files.exists(pfx), "a load writes it too");

        Files.delete(pfx);
        LinuxCredentialStore plain = LinuxCredentialStore.builder().directory(dir).build();
        plain.peek(SYSTEM);
        plain.load(SYSTEM);
        assertFalse(Files.exists(pfx), "a store not told to write PKCS#12 does not");
    }

    @Test
    void theProviderIsFoundSupportedAndHonoursTheOptions() {
        List<CredentialStoreProvider> providers = ServiceLoader.load(CredentialStoreProvider.class).stream()
                .map(ServiceLoader.Provider::get).toList();
        CredentialStoreProvider linux = providers.stream().filter(p -> p.name().equals("linux-files")).findFirst()
                .orElseThrow(() -> new AssertionError("not registered: " + providers));
        assertTrue(linux.isSupported());
        var store = linux.create(StoreOptions.defaults().withDirectory(dir).withPkcs12(true));
        store.save(credential);
        assertTrue(Files.exists(dir.resolve("msal_mtls.pfx")));
        assertEquals(LoadResult.Kind.FOUND, store.load(SYSTEM).kind());
    }
}
