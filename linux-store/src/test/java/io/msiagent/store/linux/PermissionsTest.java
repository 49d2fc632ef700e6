package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static io.msiagent.store.linux.LinuxCredentialStoreTest.assertSame;
import static io.msiagent.store.linux.LinuxCredentialStoreTest.found;
import static io.msiagent.store.linux.LinuxCredentialStoreTest.mode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PermissionsTest {
    static MtlsCredential credential;

    @TempDir
    Path tmp;
    Path dir;
    LinuxCredentialStore store;

    @BeforeAll
    static void credential() {
        credential = TestCredentials.newCa().credential(SYSTEM);
    }

    @BeforeEach
    void store() {
        dir = tmp.resolve("certs");
        store = LinuxCredentialStore.builder().directory(dir).build();
    }

    private static boolean root() {
        return PrivatePaths.currentUid() == 0;
    }

    @Test
    void aSymlinkedStoreDirectoryIsRefused() throws Exception {
        Path real = tmp.resolve("elsewhere");
        LinuxCredentialStore.builder().directory(real).build().save(credential);
        Files.createSymbolicLink(dir, real);
        StoreException e = assertThrows(StoreException.class, () -> store.load(SYSTEM));
        assertEquals(dir.toString(), e.location());
        assertTrue(e.problem().contains("symbolic link"), e.problem());
        assertThrows(StoreException.class, () -> store.save(credential));
        assertEquals(LoadResult.Kind.INVALID, store.inspect(SYSTEM).kind());
        assertTrue(store.checkPermissions().stream().anyMatch(f -> f.severity() == PermissionFinding.Severity.ERROR));
    }

    @Test
    void aSymlinkedCredentialFileIsRefusedAndNotReplaced() throws Exception {
        Path elsewhere = tmp.resolve("victim.pem");
        LinuxCredentialStore.builder().directory(tmp.resolve("other")).build().save(credential);
        Files.copy(tmp.resolve("other/msal_mtls.pem"), elsewhere);
        store.save(credential);
        Files.delete(store.pemFile(SYSTEM));
        Files.createSymbolicLink(store.pemFile(SYSTEM), elsewhere);
        StoreException e = assertThrows(StoreException.class, () -> store.load(SYSTEM));
        assertEquals(store.pemFile(SYSTEM).toString(), e.location());
        assertTrue(e.problem().contains("symbolic link"));
        assertThrows(StoreException.class, () -> store.save(credential));
        assertTrue(Files.isSymbolicLink(store.pemFile(SYSTEM)));
    }

    @Test
    void thePkcs12FileIsCheckedOnEveryLoadThoughNotRead() throws Exception {
        LinuxCredentialStore withPfx = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        withPfx.save(credential);
        Path pfx = store.pkcs12File(SYSTEM);
        Files.setPosixFilePermissions(pfx, PosixFilePermissions.fromString("rw-r--r--"));
        assertSame(credential, found(store.load(SYSTEM)));
        assertEquals("rw-------", mode(pfx), "the key under an empty password is private again after a load");

        Path elsewhere = Files.write(tmp.resolve("victim.pfx"), Files.readAllBytes(pfx));
        Files.delete(pfx);
        Files.createSymbolicLink(pfx, elsewhere);
        StoreException e = assertThrows(StoreException.class, () -> store.load(SYSTEM));
        assertEquals(pfx.toString(), e.location());
        assertTrue(e.problem().contains("symbolic link"), e.problem());
        LoadResult inspected = store.inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, inspected.kind(), "status reports it without writing");
        assertTrue(inspected.problem().contains(pfx.toString()), inspected.problem());
        assertTrue(Files.isSymbolicLink(pfx));
    }

    @Test
    void aForeignOwnedFileIsRefused() throws Exception {
        assumeTrue(root(), "needs root to give a file to another uid");
        store.save(credential);
        Files.setAttribute(store.pemFile(SYSTEM), "unix:uid", 12345, LinkOption.NOFOLLOW_LINKS);
        StoreException e = assertThrows(StoreException.class, () -> store.load(SYSTEM));
        assertTrue(e.problem().contains("owned by uid 12345"), e.problem());
        assertEquals(store.pemFile(SYSTEM).toString(), e.location());
        assertTrue(store.checkPermissions().stream().anyMatch(
                f -> f.path().equals(store.pemFile(SYSTEM)) && f.severity() == PermissionFinding.Severity.ERROR));
    }

    @Test
    void aForeignOwnedDirectoryIsRefused() throws Exception {
        assumeTrue(root(), "needs root to give a directory to another uid");
        store.save(credential);
        Files.setAttribute(dir, "unix:uid", 12345, LinkOption.NOFOLLOW_LINKS);
        StoreException e = assertThrows(StoreException.class, () -> store.load(SYSTEM));
        assertTrue(e.problem().contains("owned by uid 12345"), e.problem());
    }

    @Test
    void tooOpenModesAreRepairedOnLoadAndReportedBeforehand() throws Exception {
        store.save(credential);
        Files.setPosixFilePermissions(store.pemFile(SYSTEM), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<PermissionFinding> findings = store.checkPermissions();
        assertTrue(findings.stream().anyMatch(f -> f.path().equals(store.pemFile(SYSTEM))
                && f.severity() == PermissionFinding.Severity.WARNING && f.problem().contains("0644")), findings::toString);
        assertTrue(findings.stream().anyMatch(f -> f.path().equals(dir) && f.problem().contains("0755")), findings::toString);
        assertEquals("rw-r--r--", mode(store.pemFile(SYSTEM)), "checkPermissions never repairs");
        assertEquals(LoadResult.Kind.FOUND, store.inspect(SYSTEM).kind());
        assertEquals("rw-r--r--", mode(store.pemFile(SYSTEM)), "inspect never repairs");

        assertSame(credential, found(store.load(SYSTEM)));
        assertEquals("rw-------", mode(store.pemFile(SYSTEM)));
        assertEquals("rwx------", mode(dir));
        assertEquals(List.of(), store.checkPermissions());
    }

    @Test
    void aWorldWritableParentIsReported() throws Exception {
        store.save(credential);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<PermissionFinding> findings = store.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertEquals(tmp, findings.get(0).path());
        assertTrue(findings.get(0).problem().contains("world-writable"));
        assertSame(credential, found(store.load(SYSTEM)));
    }

    @Test
    void aDirectoryFurtherUpThatOthersCanRenameInIsReportedButAStickyOneIsNot() throws Exception {
        Path above = Files.createDirectory(tmp.resolve("above"));
        LinuxCredentialStore s = LinuxCredentialStore.builder().directory(above.resolve("home").resolve("certs")).build();
        s.save(credential);
        assertEquals(List.of(), s.checkPermissions());

        Files.setPosixFilePermissions(above, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<PermissionFinding> findings = s.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertEquals(above.toRealPath(), findings.get(0).path());
        assertEquals(PermissionFinding.Severity.WARNING, findings.get(0).severity());
        assertTrue(findings.get(0).problem().contains("world-writable without the sticky bit"), findings.get(0).problem());
        assertSame(credential, found(s.load(SYSTEM))); // a warning, not a refusal

        Files.setAttribute(above, "unix:mode", 01777); // as /tmp: others cannot rename what they do not own
        assertEquals(List.of(), s.checkPermissions());
    }

    @Test
    void aDirectoryFurtherUpOwnedByAnotherUserIsReported() throws Exception {
        assumeTrue(root(), "giving a directory to another user needs root");
        Path above = Files.createDirectory(tmp.resolve("theirs-above"));
        LinuxCredentialStore s = LinuxCredentialStore.builder().directory(above.resolve("home").resolve("certs")).build();
        s.save(credential);
        Files.setAttribute(above, "unix:uid", 65534);
        List<PermissionFinding> findings = s.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertEquals(above.toRealPath(), findings.get(0).path());
        assertTrue(findings.get(0).problem().contains("owned by uid 65534"), findings.get(0).problem());
    }

    @Test
    void aFileItsOwnerCannotReadIsReportedThenRepairedByALoad() throws Exception {
        store.save(credential);
        Files.setPosixFilePermissions(store.pemFile(SYSTEM), PosixFilePermissions.fromString("-w-------"));
        List<PermissionFinding> findings = store.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertTrue(findings.get(0).problem().contains("does not let its owner read it"), findings.get(0).problem());
        assertSame(credential, found(store.load(SYSTEM)));
        assertEquals("rw-------", mode(store.pemFile(SYSTEM)));
        assertEquals(List.of(), store.checkPermissions());
    }

    @Test
    void aSymlinkedParentIsJudgedByTheDirectoryItLeadsTo() throws Exception {
        Path realParent = Files.createDirectory(tmp.resolve("real-parent"));
        Path linkedParent = Files.createSymbolicLink(tmp.resolve("linked-parent"), realParent);
        LinuxCredentialStore s = LinuxCredentialStore.builder().directory(linkedParent.resolve("certs")).build();
        s.save(credential);
        assertEquals(List.of(), s.checkPermissions(), "the link's own mode (0777) is not the directory's");
        Files.setPosixFilePermissions(realParent, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<PermissionFinding> findings = s.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertEquals(realParent.toRealPath(), findings.get(0).path());
        assertTrue(findings.get(0).problem().contains("world-writable"), findings.get(0).problem());
    }

    @Test
    void aParentOwnedByAnotherUserIsReported() throws Exception {
        assumeTrue(root(), "giving a directory to another user needs root");
        Path parent = Files.createDirectory(tmp.resolve("theirs"));
        LinuxCredentialStore s = LinuxCredentialStore.builder().directory(parent.resolve("certs")).build();
        s.save(credential);
        Files.setAttribute(parent, "unix:uid", 65534);
        List<PermissionFinding> findings = s.checkPermissions();
        assertEquals(1, findings.size(), findings::toString);
        assertTrue(findings.get(0).problem().contains("owned by uid 65534"), findings.get(0).problem());
        assertSame(credential, found(s.load(SYSTEM))); // a warning, not a refusal
    }

    @Test
    void appendCreatesAPrivateFileAndRefusesSymlinks() throws Exception {
        Files.createDirectories(dir);
        Path audit = dir.resolve("audit.log");
        SecureFiles.append(audit, "one\n".getBytes(StandardCharsets.UTF_8));
        SecureFiles.append(audit, "two\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("one\ntwo\n", Files.readString(audit));
        assertEquals("rw-------", mode(audit));
        Files.setPosixFilePermissions(audit, PosixFilePermissions.fromString("rw-rw-rw-"));
        SecureFiles.append(audit, "three\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("rw-------", mode(audit), "a too-open existing file is repaired");
        Path link = dir.resolve("link.log");
        Files.createSymbolicLink(link, audit);
        assertThrows(StoreException.class, () -> SecureFiles.append(link, "x".getBytes(StandardCharsets.UTF_8)));
        assertEquals("one\ntwo\nthree\n", Files.readString(audit));
    }

    @Test
    void fixingTheModeOfAPathJustCreatedNeverChangesWhatASymlinkSwappedInPointsTo() throws Exception {
        // Another user may replace a directory the store just created in a shared parent (/tmp) with a
        // link to one of ours before its mode is completed: that directory must keep its mode.
        Path ours = Files.createDirectories(tmp.resolve("ours"));
        Files.setPosixFilePermissions(ours, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path swapped = Files.createSymbolicLink(tmp.resolve("created"), ours);

        assertThrows(java.io.IOException.class, () -> SecureFiles.completeMode(swapped, SecureFiles.DIRECTORY_MODE));

        assertEquals("rwxr-xr-x", mode(ours));
    }

    /**
     * A umask that takes away the owner's read bit (0477) leaves a new directory 0300, which its
     * owner (unlike root) cannot open to complete its mode without following links: a user's child
     * JVM, started through setpriv, must still get 0700/0600.
     */
    @Test
    void aUmaskWithoutOwnerReadStillGivesAnotherUserPrivateModes() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0 && Files.isExecutable(Path.of("/usr/bin/setpriv")),
                "needs root and setpriv to run the child as an ordinary user");
        Path home = Files.createTempDirectory(Path.of("/tmp"), "msi-agent-umask-");
        try {
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
            Files.setOwner(home, home.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("65534"));
            Path store = home.resolve("config/certs");
            String cp = Path.of(SecureFiles.class.getProtectionDomain().getCodeSource().getLocation().toURI()) + ":"
                    + Path.of(PrivateModesChild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                    "umask 477; exec \"$0\" -cp \"$1\" " + PrivateModesChild.class.getName() + " \"$2\"",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), cp, store.toString())
                    .redirectErrorStream(true).start();
            String out = ChildJvm.finish(p, 120).trim();
            assertEquals("rwx------ rwx------ rw-------", out, out);
        } finally {
            try (java.util.stream.Stream<Path> all = Files.walk(home)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
            }
        }
    }

    @Test
    void createsEveryMissingDirectoryPrivate() throws Exception {
        Path deep = tmp.resolve("a/b/c");
        SecureFiles.createPrivateDirectories(deep);
        for (Path p : List.of(tmp.resolve("a"), tmp.resolve("a/b"), deep)) {
            assertEquals("rwx------", mode(p), p.toString());
        }
        SecureFiles.createPrivateDirectories(deep); // already there: nothing to do
    }

    @ParameterizedTest
    @ValueSource(strings = {"000", "077", "277"})
    void modesAreRightWhateverTheUmask(String umask) throws Exception {
        Process p = ChildJvm.startWithUmask(umask, tmp.resolve("child.err"), "save-once", dir.toString());
        assertEquals("SAVED", ChildJvm.finish(p, 120).trim(), () -> readQuietly(tmp.resolve("child.err")));
        assertEquals(0, p.exitValue());
        assertEquals("rwx------", mode(dir));
        for (String f : List.of("msal_mtls.pem", "msal_mtls.json", "msal_mtls.pfx", "msal_mtls.lock")) {
            assertEquals("rw-------", mode(dir.resolve(f)), f + " under umask " + umask);
        }
        assertFalse(found(store.load(SYSTEM)).x5tS256().isEmpty());
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "";
        }
    }
    /*
     * A peek repairs a too-open mode without the lock, so the file can be quarantined or cleared by
     * another process between its lstat and the chmod. A file gone by then is absent, as if the
     * lstat had not found it: the engine then loads under the lock instead of failing the caller.
     * The race is made here by a second thread moving a 0644 file in and out of place.
     */
    @Test
    void aFileRemovedWhileItsModeIsRepairedIsAbsentNotAnError() throws Exception {
        Files.createDirectories(dir);
        Path file = dir.resolve("msal_mtls.pem");
        Path aside = dir.resolve("aside");
        Files.write(aside, new byte[] {1});
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> moverFailed = new AtomicReference<>();
        Thread mover = new Thread(() -> {
            try {
                while (!stop.get()) {
                    Files.setPosixFilePermissions(aside, PosixFilePermissions.fromString("rw-r--r--"));
                    Files.move(aside, file, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (Throwable t) {
                moverFailed.set(t);
            }
        });
        mover.start();
        int repaired = 0;
        try {
            for (int i = 0; i < 20_000 && moverFailed.get() == null; i++) {
                PrivatePaths.enforceFile(file);
                repaired++;
            }
        } finally {
            stop.set(true);
            mover.join();
        }
        assertEquals(null, moverFailed.get());
        assertEquals(20_000, repaired);
    }
}
