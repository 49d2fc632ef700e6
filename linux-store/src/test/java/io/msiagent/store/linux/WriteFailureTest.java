package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static io.msiagent.store.linux.LinuxCredentialStoreTest.assertSame;
import static io.msiagent.store.linux.LinuxCredentialStoreTest.found;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Invariant 4: no failed write loses the previous entry. Real failures: a full tmpfs, an immutable directory. */
class WriteFailureTest {
    static MtlsCredential first;
    static MtlsCredential second;

    @TempDir
    Path tmp;

    @BeforeAll
    static void credentials() {
        TestCredentials ca = TestCredentials.newCa();
        first = ca.credential(SYSTEM);
        second = ca.credential(SYSTEM);
    }

    private static int run(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void assertNoTempFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "temp files cleaned up");
        }
    }

    @Test
    void aFullDiskFailsTheSaveClearlyAndKeepsThePreviousEntry() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0, "mounting a small tmpfs needs root");
        Path mount = Files.createDirectory(tmp.resolve("small"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mount.toString()) == 0,
                "cannot mount tmpfs here");
        try {
            Path dir = mount.resolve("certs");
            LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
            store.save(first);
            try (OutputStream filler = Files.newOutputStream(mount.resolve("filler"))) {
                byte[] chunk = new byte[4096];
                for (int i = 0; i < 1024; i++) { // bounded: 4 MiB is far beyond the 256 KiB file system
                    filler.write(chunk);
                    filler.flush();
                }
            } catch (IOException full) {
                assertTrue(full.getMessage().contains("No space left"), full.getMessage());
            }
            StoreException e = assertThrows(StoreException.class, () -> store.save(second));
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertTrue(e.getMessage().contains("previous entry stays"), e.getMessage());
            assertSame(first, found(store.load(SYSTEM)));
            assertNoTempFiles(dir);

            Files.delete(mount.resolve("filler"));
            store.save(second);
            assertSame(second, found(store.load(SYSTEM)));
        } finally {
            assertEquals(0, run("umount", mount.toString()));
        }
    }

    @Test
    void anImmutableDirectoryFailsTheSaveAndKeepsThePreviousEntry() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0, "chattr +i needs root");
        Path dir = tmp.resolve("certs");
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        store.save(first);
        assumeTrue(run("chattr", "+i", dir.toString()) == 0, "file system without immutable attribute");
        try {
            StoreException e = assertThrows(StoreException.class, () -> store.save(second));
            assertTrue(e.getMessage().contains("previous entry stays"), e.getMessage());
            // the directory and the system's reason, not a temp file's name and an exception class
            assertTrue(e.getMessage().contains(": cannot create a file in " + dir + ": Operation not permitted;"), e.getMessage());
            assertFalse(e.getMessage().contains(".tmp-") || e.getMessage().contains("Exception"), e.getMessage());
            assertSame(first, found(store.load(SYSTEM)));
        } finally {
            assertEquals(0, run("chattr", "-i", dir.toString()));
        }
        assertNoTempFiles(dir);
    }

    @Test
    void aFailedWriteIsDescribedByItsPathAndReason() {
        Path dir = tmp.resolve("certs");
        assertEquals("cannot create a file in " + dir + ": permission denied", LinuxCredentialStore.writeProblem(
                new java.nio.file.AccessDeniedException(dir.resolve(".msal_mtls.json" + SecureFiles.TEMP_MARKER + "00ff").toString())));
        assertEquals(dir.resolve("msal_mtls.pem") + ": Read-only file system", LinuxCredentialStore.writeProblem(
                new java.nio.file.FileSystemException(dir.resolve("msal_mtls.pem").toString(), null, "Read-only file system")));
        assertEquals("No space left on device", LinuxCredentialStore.writeProblem(new IOException("No space left on device")));
    }

    @Test
    void savesThatKeepFailingAfterStagingNeverOrphanThePemInPlace() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0, "chattr +i needs root");
        Path dir = tmp.resolve("certs");
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        store.save(first);
        Path pem = store.pemFile(SYSTEM);
        // The metadata is staged (renamed into place) before the PEM; an immutable PEM makes every
        // later step fail, as a disk too full for the PEM but not for the metadata would.
        assumeTrue(run("chattr", "+i", pem.toString()) == 0, "file system without immutable attribute");
        TestCredentials ca = TestCredentials.newCa();
        try {
            for (int i = 0; i < 4; i++) { // more failures than the metadata keeps entries
                MtlsCredential next = ca.credential(SYSTEM);
                StoreException e = assertThrows(StoreException.class, () -> store.save(next));
                assertTrue(e.getMessage().contains("previous entry stays"), e.getMessage());
            }
        } finally {
            assertEquals(0, run("chattr", "-i", pem.toString()));
        }
        assertSame(first, found(store.load(SYSTEM)));
        assertNoTempFiles(dir);
    }

    @Test
    void aSaveThatFailsAfterReplacingThePkcs12FileSaysSo() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0, "chattr +i needs root");
        Path dir = tmp.resolve("certs");
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        store.save(first);
        Path pem = store.pemFile(SYSTEM);
        assumeTrue(run("chattr", "+i", pem.toString()) == 0, "file system without immutable attribute");
        try {
            StoreException e = assertThrows(StoreException.class, () -> store.save(second));
            // The .pfx is written before the PEM: a reader of the .pfx already gets the new credential.
            assertTrue(e.getMessage().contains("the previous entry stays in place, but msal_mtls.pfx already holds the new credential"),
                    e.getMessage());
        } finally {
            assertEquals(0, run("chattr", "-i", pem.toString()));
        }
        assertSame(first, found(store.load(SYSTEM)));
    }

    @Test
    void aReadOnlyDirectoryFailsTheSaveAndKeepsThePreviousEntry() throws Exception {
        assumeTrue(PrivatePaths.currentUid() != 0, "root writes into a 0500 directory anyway (see the chattr test)");
        Path dir = tmp.resolve("certs");
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        store.save(first);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try {
            assertThrows(StoreException.class, () -> store.save(second));
            assertSame(first, found(store.load(SYSTEM)));
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void readersRacingAWriterAlwaysSeeAWholeEntry() throws Exception {
        Path dir = tmp.resolve("certs");
        LinuxCredentialStore writer = LinuxCredentialStore.builder().directory(dir).build();
        LinuxCredentialStore reader = LinuxCredentialStore.builder().directory(dir).build();
        writer.save(first);
        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 100 && !done.get(); i++) {
                writer.save(i % 2 == 0 ? second : first);
            }
        });
        try {
            for (int i = 0; i < 300 && !writes.isDone(); i++) {
                LoadResult r = reader.inspect(SYSTEM); // no lock, no quarantine: only re-reads
                assertEquals(LoadResult.Kind.FOUND, r.kind(), r::toString);
            }
        } finally {
            done.set(true);
            writes.get(60, TimeUnit.SECONDS);
        }
    }
}
