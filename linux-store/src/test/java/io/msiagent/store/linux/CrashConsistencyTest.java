package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyMatch;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.testing.TestCredentials;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invariant 2: a child JVM saving in a loop is killed with SIGKILL at a random moment; the store
 * must then load a matching key and certificate with their metadata, never a quarantine. Trials:
 * {@code -Dmsi.crashTrials=200} for the full proof (default 25, set in the module's pom).
 */
class CrashConsistencyTest {
    @TempDir
    Path tmp;

    @Test
    void aSaveKilledAtAnyMomentLeavesALoadableMatchingEntry() throws Exception {
        int trials = Integer.getInteger("msi.crashTrials", 25);
        // PKCS#12 encoding (PBKDF2) takes most of a save's time before any file is touched, so most
        // trials use a store without a .pfx: their saves spend nearly all their time writing files.
        Path pemOnly = tmp.resolve("pem-only");
        Path withPkcs12 = tmp.resolve("with-pfx");
        Random random = new Random(42);
        TestCredentials ca = TestCredentials.newCa();
        String[] args = new String[6];
        args[0] = "save-loop";
        for (int i = 0; i < 3; i++) {
            Path seed = tmp.resolve("seed-" + i);
            LinuxCredentialStore.builder().directory(seed).build().save(ca.credential(SYSTEM));
            args[3 + i] = seed.toString();
        }
        // The entries every crash must leave loadable (they or a successor).
        LinuxCredentialStore.builder().directory(pemOnly).build().save(ca.credential(SYSTEM));
        LinuxCredentialStore.builder().directory(withPkcs12).writePkcs12(true).build().save(ca.credential(SYSTEM));
        for (int trial = 0; trial < trials; trial++) {
            boolean pkcs12 = trial % 4 == 3;
            Path dir = pkcs12 ? withPkcs12 : pemOnly;
            args[1] = dir.toString();
            args[2] = Boolean.toString(pkcs12);
            Path err = tmp.resolve("child.err");
            Process child = ChildJvm.start(err, args);
            try {
                assertEquals("READY", ChildJvm.firstLine(child, 120), () -> PermissionsTest.readQuietly(err));
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(random.nextInt(100_000)));
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            }
            int t = trial;
            LoadResult r = LinuxCredentialStore.builder().directory(dir).build().load(SYSTEM);
            assertEquals(LoadResult.Kind.FOUND, r.kind(), () -> "trial " + t + ": " + r);
            MtlsCredential c = r.credential().orElseThrow();
            assertTrue(KeyMatch.matches(c.certificate().getPublicKey(), c.privateKey()), "trial " + trial);
            if (pkcs12) {
                KeyStore pfx = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(dir.resolve("msal_mtls.pfx"))) {
                    pfx.load(in, new char[0]); // whole, never torn (it may be a generation apart from the PEM)
                }
            }
        }
        for (Path dir : new Path[] {pemOnly, withPkcs12}) {
            try (Stream<Path> files = Files.list(dir)) {
                assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".corrupt-")), "nothing was quarantined");
            }
        }
    }
}
