package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.tests.child.ChildJvm;
import io.msiagent.tests.child.ProofChild;
import io.msiagent.tests.child.Stack;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults of the Linux store under a running engine: corrupt entries are set aside and
 * re-acquired; wrong modes are repaired; symlinks and foreign owners are refused with the path
 * named; when the store cannot be written (read-only directory, full disk, a write failing with an
 * IOException) the renewed credential is served from memory, the old valid entry stays on disk, and
 * status says "not persisted".
 */
@Timeout(90)
class StoreFaultTest {
    @TempDir
    Path tmp;
    private Path dir;
    private ImdsEmulator emu;
    private MtlsCredential original;
    private LinuxCredentialStore store;

    @BeforeEach
    void issue() {
        emu = Proof.emulator(Duration.ofHours(1));
        dir = tmp.resolve("store");
        store = Stack.store(dir, false);
        try (MsiCredentialCache first = Proof.fastCache(emu, dir).build()) {
            original = first.get();
        }
        emu.reset();
    }

    @AfterEach
    void stop() {
        emu.close();
    }

    private Path pem() {
        return store.pemFile(Proof.SYSTEM);
    }

    private Path json() {
        return store.metadataFile(Proof.SYSTEM);
    }

    private MsiCredentialCache restart() {
        return Proof.fastCache(emu, dir).build();
    }

    private void assertReacquiredAfterQuarantine() throws IOException {
        try (MsiCredentialCache cache = restart()) {
            MtlsCredential c = cache.get();
            assertNotEquals(original.x5tS256(), c.x5tS256(), "the corrupt entry was replaced by a new issuance");
            assertEquals(1, emu.stats().certificatesIssued());
            assertEquals(c.x5tS256(), Proof.storedX5t(dir));
            assertTrue(Stack.keyMatchesCertificate(c));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().contains(".corrupt-")),
                    "the corrupt file was quarantined, not silently deleted");
        }
    }

    @Test
    void garbagePemIsQuarantinedAndReacquired() throws IOException {
        Files.writeString(pem(), "not a PEM at all\n");
        assertReacquiredAfterQuarantine();
    }

    @Test
    void truncatedPemIsQuarantinedAndReacquired() throws IOException {
        String s = Files.readString(pem());
        Files.writeString(pem(), s.substring(0, s.length() / 2));
        assertReacquiredAfterQuarantine();
    }

    @Test
    void corruptMetadataIsQuarantinedAndReacquired() throws IOException {
        Files.writeString(json(), "{\"formatVersion\": 1, ");
        assertReacquiredAfterQuarantine();
    }

    @Test
    void keyOfAnotherCertificateIsQuarantinedAndReacquired() throws IOException {
        Path otherDir = tmp.resolve("other");
        try (MsiCredentialCache other = Proof.fastCache(emu, otherDir).build()) {
            other.get();
        }
        emu.reset();
        String mine = Files.readString(pem());
        String theirs = Files.readString(Stack.store(otherDir, false).pemFile(Proof.SYSTEM));
        String end = "-----END PRIVATE KEY-----";
        String spliced = theirs.substring(0, theirs.indexOf(end) + end.length()) + mine.substring(mine.indexOf(end) + end.length());
        Files.writeString(pem(), spliced);
        assertReacquiredAfterQuarantine();
    }

    @Test
    void aNewerVersionsEntryIsLeftAloneWhileAnIssuedCredentialIsServedFromMemory() throws IOException {
        String newer = Files.readString(json()).replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        Files.writeString(json(), newer);
        byte[] pemBefore = Files.readAllBytes(pem());
        try (MsiCredentialCache cache = restart()) {
            MtlsCredential c = cache.get();
            assertNotEquals(original.x5tS256(), c.x5tS256());
            assertEquals(1, emu.stats().certificatesIssued());
            assertTrue(Stack.keyMatchesCertificate(c));
            String reasons = String.join("; ", cache.status().reasons());
            assertTrue(reasons.contains("not persisted") && reasons.contains("written by a newer msi-agent"), reasons);
        }
        assertEquals(newer, Files.readString(json()), "the newer version's metadata is as it left it");
        assertTrue(java.util.Arrays.equals(pemBefore, Files.readAllBytes(pem())), "and so is its PEM");
        try (Stream<Path> files = Files.list(dir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().contains(".corrupt-")), "nothing was quarantined");
        }
    }

    @Test
    void groupAndWorldReadableModesAreRepairedAndTheEntryIsServed() throws IOException {
        Files.setPosixFilePermissions(pem(), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (MsiCredentialCache cache = restart()) {
            assertEquals(original.x5tS256(), cache.get().x5tS256());
        }
        assertEquals(0, emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pem())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    }

    @Test
    void aSymlinkedPemIsRefusedWithThePathNamedAndItsTargetIsLeftAlone() throws IOException {
        Path target = tmp.resolve("elsewhere.pem");
        Files.move(pem(), target);
        Files.createSymbolicLink(pem(), target);
        String before = Files.readString(target);
        try (MsiCredentialCache cache = restart()) {
            StoreException e = assertThrows(StoreException.class, cache::get);
            assertTrue(e.getMessage().contains(pem().toString()), e.getMessage());
            assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("symlink")
                    || e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("symbolic link"), e.getMessage());
        }
        assertEquals(before, Files.readString(target), "the symlink's target was not written");
        assertTrue(Files.isSymbolicLink(pem()));
        assertEquals(0, emu.stats().certificatesIssued(), "nothing was issued into a store that is refused");
    }

    @Test
    void aForeignOwnedPemIsRefusedWithThePathNamed() throws IOException {
        Files.setAttribute(pem(), "unix:uid", 12345);
        try (MsiCredentialCache cache = restart()) {
            StoreException e = assertThrows(StoreException.class, cache::get);
            assertTrue(e.getMessage().contains(pem().toString()), e.getMessage());
        }
        assertEquals(0, emu.stats().certificatesIssued());
    }

    /**
     * A directory nothing may be written in: {@code chattr +i} for root (whom no mode stops), a mode
     * of 0500 for anyone else (whom {@code chattr} refuses).
     */
    @Test
    void aReadOnlyDirectoryKeepsTheOldEntryWhileTheRenewedCredentialIsServedFromMemory() throws Exception {
        boolean root = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        if (root) {
            assumeTrue(run("chattr", "+i", dir.toString()) == 0, "chattr +i needs an ext2/3/4-like file system");
        } else {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        }
        try {
            assertRenewalServedFromMemoryWhileDiskKeepsTheOldEntry();
        } finally {
            if (root) {
                run("chattr", "-i", dir.toString());
            } else {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            }
        }
    }

    /**
     * A real full file system: the store lives on a 64 KiB tmpfs (we are root here), which is then
     * filled. Skipped (not simulated) where mounting is not allowed.
     */
    @Test
    void aFullDiskKeepsTheOldEntryWhileTheRenewedCredentialIsServedFromMemory() throws Exception {
        Path mnt = tmp.resolve("tmpfs");
        Files.createDirectories(mnt);
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt.toString()) == 0, "mount needs root");
        try {
            dir = mnt.resolve("store");
            store = Stack.store(dir, false);
            try (MsiCredentialCache first = Proof.fastCache(emu, dir).build()) {
                original = first.get();
            }
            emu.reset();
            try (OutputStream filler = Files.newOutputStream(mnt.resolve("filler"))) {
                byte[] block = new byte[1024];
                for (int i = 0; i < 1024; i++) {
                    filler.write(block);
                    filler.flush();
                }
            } catch (IOException expected) {
                // ENOSPC: the file system is full now
            }
            assertRenewalServedFromMemoryWhileDiskKeepsTheOldEntry();
        } finally {
            run("umount", mnt.toString());
        }
    }

    /**
     * A write that fails with an {@code IOException} where no small file system can be made: no
     * privilege is needed to lower a process's file-size limit ({@code ulimit -f}, 2 KiB: the
     * 3 KiB PEM cannot be written, "File too large"), so a child JVM under one renews, and the
     * store's write fails as on a full disk.
     */
    @Test
    void aWriteFailingWithAnIoExceptionKeepsTheOldEntryWhileTheRenewedCredentialIsServedFromMemory() throws Exception {
        String pemBefore = Files.readString(pem(), StandardCharsets.US_ASCII);
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -f 2 && exec \"$@\"", "bash",
                ChildJvm.javaBinary(), "-XX:+UseSerialGC", "-XX:-UsePerfData", "-cp",
                ChildJvm.classPath(), ProofChild.class.getName()));
        cmd.addAll(Proof.childArgs("refresh", emu, Proof.caFile(emu, tmp), dir));
        ChildJvm child = ChildJvm.startCommand(tmp, cmd, Map.of());
        JsonNode r = Proof.parse(child, child.await(60));

        assertEquals(original.x5tS256(), r.get("before").asText());
        assertNotEquals(original.x5tS256(), r.get("renewed").asText());
        assertEquals(r.get("renewed").asText(), r.get("served").asText(), "callers get the renewed credential from memory");
        String reasons = r.get("reasons").asText();
        assertTrue(reasons.contains("not persisted") && reasons.contains("File too large"), "status says so, and why: " + reasons);
        assertTheOldEntryStaysAndARestartIsServedIt(pemBefore);
    }

    private void assertRenewalServedFromMemoryWhileDiskKeepsTheOldEntry() throws IOException {
        String pemBefore = Files.readString(pem(), StandardCharsets.US_ASCII);
        try (MsiCredentialCache cache = Proof.fastCache(emu, dir).build()) {
            assertEquals(original.x5tS256(), cache.get().x5tS256());
            MtlsCredential renewed = cache.refresh();
            assertNotEquals(original.x5tS256(), renewed.x5tS256());
            assertEquals(renewed.x5tS256(), cache.get().x5tS256(), "callers get the renewed credential from memory");
            List<String> reasons = cache.status().reasons();
            assertTrue(reasons.stream().anyMatch(r -> r.contains("not persisted")), "status says so: " + reasons);
        }
        assertTheOldEntryStaysAndARestartIsServedIt(pemBefore);
    }

    private void assertTheOldEntryStaysAndARestartIsServedIt(String pemBefore) throws IOException {
        assertEquals(pemBefore, Files.readString(pem(), StandardCharsets.US_ASCII), "the old entry is intact on disk");
        assertEquals(original.x5tS256(), Proof.storedX5t(dir));
        try (Stream<Path> files = Files.list(dir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp files left behind");
        }
        emu.reset();
        try (MsiCredentialCache restarted = restart()) {
            assertEquals(original.x5tS256(), restarted.get().x5tS256(), "a restart is served the old, still valid entry");
        }
        assertEquals(0, emu.stats().certificatesIssued());
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }
}
