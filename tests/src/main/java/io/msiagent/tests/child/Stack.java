package io.msiagent.tests.child;

import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.imds.ImdsClient;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * How the proof suites assemble the library against the emulator: the real ImdsClient (short
 * timeouts, optionally no back-off waits), the real Linux file store in a given directory, and
 * trust in the emulator CA for the token endpoint. Shared by the tests and the child JVMs.
 */
public final class Stack {
    private Stack() {
    }

    /** An ImdsClient for tests: 1 s connect/read, {@code deadline} per call, back-off waits skipped when {@code fast}. */
    public static ImdsClient imds(String endpoint, Duration deadline, boolean fast) {
        ImdsClient.Builder b = ImdsClient.builder().endpoint(endpoint)
                .connectTimeout(Duration.ofSeconds(1)).readTimeout(Duration.ofSeconds(1)).callDeadline(deadline);
        if (fast) {
            b.sleeper(d -> { });
        }
        return b.build();
    }

    public static LinuxCredentialStore store(Path dir, boolean pkcs12) {
        return LinuxCredentialStore.builder().directory(dir).writePkcs12(pkcs12).build();
    }

    /** A cache builder wired to the emulator at {@code imdsEndpoint}, the store in {@code dir}, trusting {@code ca} (if not null). */
    public static MsiCredentialCache.Builder cache(String imdsEndpoint, X509Certificate ca, Path dir) {
        return MsiCredentialCache.builder()
                .imdsClient(imds(imdsEndpoint, Duration.ofSeconds(20), false))
                .store(store(dir, false))
                .keyAttestor(null)
                .trustedCertificates(ca == null ? List.of() : List.of(ca));
    }

    public static X509Certificate readCertificate(Path pem) throws IOException, CertificateException {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    public static void writeCa(Path file, String pem) throws IOException {
        Files.writeString(file, pem, StandardCharsets.US_ASCII);
    }

    /** True when the credential's private key signs what its certificate's public key verifies. */
    public static boolean keyMatchesCertificate(MtlsCredential c) {
        try {
            byte[] probe = "msi-agent proof".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initSign(c.privateKey());
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance("SHA256withRSA");
            v.initVerify(c.certificate().getPublicKey());
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
