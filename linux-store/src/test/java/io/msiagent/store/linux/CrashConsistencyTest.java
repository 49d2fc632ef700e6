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
        Path dir = tmp.resolve("certs");
        Random random = new Random(42);
        LinuxCredentialStore reader = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        TestCredentials ca = TestCredentials.newCa();
        String[] args = new String[5];
        args[0] = "save-loop";
        args[1] = dir.toString();
        for (int i = 0; i < 3; i++) {
            Path seed = tmp.resolve("seed-" + i);
            LinuxCredentialStore.builder().directory(seed).build().save(ca.credential(SYSTEM));
            args[2 + i] = seed.toString();
        }
        reader.save(ca.credential(SYSTEM)); // the entry every crash must leave loadable (it or a successor)
        for (int trial = 0; trial < trials; trial++) {
            Path err = tmp.resolve("child.err");
            Process child = ChildJvm.start(err, args);
            try {
                assertEquals("READY", ChildJvm.firstLine(child, 120), () -> PermissionsTest.readQuietly(err));
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(random.nextInt(300_000)));
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            }
            int t = trial;
            LoadResult r = reader.load(SYSTEM);
            assertEquals(LoadResult.Kind.FOUND, r.kind(), () -> "trial " + t + ": " + r);
            MtlsCredential c = r.credential().orElseThrow();
            assertTrue(KeyMatch.matches(c.certificate().getPublicKey(), c.privateKey()), "trial " + trial);
            KeyStore pfx = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(dir.resolve("msal_mtls.pfx"))) {
                pfx.load(in, new char[0]); // whole, never torn (it may be one generation ahead of the PEM)
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".corrupt-")), "nothing was quarantined");
        }
    }
}
