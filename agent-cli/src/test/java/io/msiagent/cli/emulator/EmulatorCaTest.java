package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.TestCredentials;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The emulator CA: PEM export, persistence in a CA directory, reuse across restarts. */
class EmulatorCaTest {

    @Test
    void caPemParsesToTheCaCertificate() throws Exception {
        try (ImdsEmulator e = ImdsEmulator.start(EmulatorConfig.defaults())) {
            String pem = e.caPem();
            assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----"));
            X509Certificate parsed = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            assertEquals(e.caCertificate(), parsed);
            assertTrue(parsed.getBasicConstraints() >= 0, "a CA certificate");
        }
    }

    @Test
    void caDirIsCreatedPrivateAndReusedAcrossRestarts(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ca");
        X509Certificate first;
        KeyPair keys = TestCredentials.rsa2048();
        X509Certificate issuedByFirst;
        try (ImdsEmulator e = ImdsEmulator.start(EmulatorConfig.builder().caDir(dir).build())) {
            first = e.caCertificate();
            issuedByFirst = new EmulatorClient(e).issueCertificate(keys, e.systemAssigned(), null, null);
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca-key.pem"))));
        assertTrue(Files.readString(dir.resolve("ca-key.pem")).startsWith("-----BEGIN PRIVATE KEY-----"));

        try (ImdsEmulator e = ImdsEmulator.start(EmulatorConfig.builder().caDir(dir).build())) {
            assertArrayEquals(first.getEncoded(), e.caCertificate().getEncoded());
            issuedByFirst.verify(e.caCertificate().getPublicKey()); // clients of the first run still chain
        }
        try (ImdsEmulator other = ImdsEmulator.start(EmulatorConfig.defaults())) {
            assertNotEquals(first, other.caCertificate());
        }
    }

    @Test
    void halfAPersistedCaIsRefusedWithAClearError(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(EmulatorCa.CERT_FILE), EmulatorCa.generate(java.time.Clock.systemUTC()).caPem());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ImdsEmulator.start(EmulatorConfig.builder().caDir(dir).build()));
        assertTrue(e.getMessage().contains(EmulatorCa.KEY_FILE), e.getMessage());
    }

    @Test
    void mismatchedKeyIsRefused(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        EmulatorCa.loadOrCreate(a, java.time.Clock.systemUTC());
        EmulatorCa.loadOrCreate(b, java.time.Clock.systemUTC());
        Files.copy(b.resolve(EmulatorCa.KEY_FILE), a.resolve(EmulatorCa.KEY_FILE),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmulatorCa.loadOrCreate(a, java.time.Clock.systemUTC()));
        assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
    }

    @Test
    void oneCaCanBeSharedBySeveralEmulators() throws Exception {
        EmulatorCa shared = EmulatorCa.generate(java.time.Clock.systemUTC());
        KeyPair keys = TestCredentials.rsa2048();
        try (ImdsEmulator a = ImdsEmulator.start(EmulatorConfig.builder().ca(shared).build());
                ImdsEmulator b = ImdsEmulator.start(EmulatorConfig.builder().ca(shared).build())) {
            assertEquals(a.caCertificate(), b.caCertificate());
            new EmulatorClient(a).issueCertificate(keys, a.systemAssigned(), null, null)
                    .verify(b.caCertificate().getPublicKey());
        }
        assertThrows(IllegalArgumentException.class,
                () -> EmulatorConfig.builder().ca(shared).caDir(Path.of("x")).build());
    }
}
