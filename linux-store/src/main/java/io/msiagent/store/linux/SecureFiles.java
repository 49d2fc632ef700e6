package io.msiagent.store.linux;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Deque;
import java.nio.file.OpenOption;
import java.util.HexFormat;
import java.util.Set;

/**
 * Private files the POSIX way: directories 0700 and files 0600 from the moment they exist (the
 * mode is given to {@code open(2)}/{@code mkdir(2)}, never applied by a chmod after content was
 * written), symlinks never followed, replacement by write-temp + fsync + rename + directory fsync.
 * The umask can only remove bits, so a created path whose owner bits the umask removed is
 * completed to 0600/0700 while it is still empty. Ownership and too-open modes of existing paths
 * are {@link PrivatePaths}' job.
 */
public final class SecureFiles {
    public static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    public static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwx------");

    private static final FileAttribute<Set<PosixFilePermission>> FILE_ATTRIBUTE =
            PosixFilePermissions.asFileAttribute(FILE_MODE);
    private static final FileAttribute<Set<PosixFilePermission>> DIRECTORY_ATTRIBUTE =
            PosixFilePermissions.asFileAttribute(DIRECTORY_MODE);
    static final String TEMP_MARKER = ".tmp-";

    private SecureFiles() {
    }

    /**
     * Creates {@code dir} and any missing parents with mode 0700. Existing directories are left as
     * they are (check them with {@link PrivatePaths}), and so is one that appears meanwhile: in a
     * shared parent (a store under /tmp) another user may plant a symlink there, and its target is
     * never chmod-ed.
     */
    public static void createPrivateDirectories(Path dir) throws IOException {
        Deque<Path> missing = new ArrayDeque<>();
        for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            missing.push(p);
        }
        for (Path p : missing) { // outermost first
            try {
                Files.createDirectory(p, DIRECTORY_ATTRIBUTE);
            } catch (FileAlreadyExistsException madeMeanwhile) {
                continue;
            }
            completeMode(p, DIRECTORY_MODE);
        }
    }

    /**
     * Replaces {@code target} atomically with {@code content}: a temp file created 0600 in the same
     * directory, written and forced to disk, renamed over the target, then the directory forced. A
     * reader sees the old file or the new one. On failure the temp file is removed and the old file
     * is untouched.
     */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve(tempPrefix(target) + HexFormat.of().formatHex(randomBytes()));
        boolean moved = false;
        try {
            try (FileChannel ch = createPrivateFile(temp)) {
                writeFully(ch, content);
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
            fsyncDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /**
     * Appends {@code bytes} to {@code file}, creating it 0600 when absent (e.g. an audit log). An
     * existing file is checked first: a symlink or a foreign owner is refused, a too-open mode is
     * repaired with a warning.
     */
    public static void append(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = openForAppend(file)) {
            writeFully(ch, bytes);
            ch.force(false);
        }
    }

    /** Forces a directory's entries (renames, creations) to disk: works on Linux file systems. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** A new file, 0600 from its first byte; fails if anything (even a dangling symlink) is there. */
    static FileChannel createPrivateFile(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), FILE_ATTRIBUTE);
        try {
            completeMode(file, FILE_MODE);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static FileChannel openForAppend(Path file) throws IOException {
        try {
            return createPrivateFile(file);
        } catch (FileAlreadyExistsException e) {
            PrivatePaths.enforceFile(file);
            return FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Opens (creating 0600 if absent) a file for read and write, e.g. a lock file. */
    static FileChannel openPrivateFile(Path file) throws IOException {
        try {
            return createPrivateFile(file);
        } catch (FileAlreadyExistsException e) {
            PrivatePaths.enforceFile(file);
            return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** The prefix of {@link #writeAtomically}'s temp files for {@code target}: hidden, same directory. */
    static String tempPrefix(Path target) {
        return "." + target.getFileName() + TEMP_MARKER;
    }

    /**
     * A path we just created: the umask may have removed owner bits (never added others); put them
     * back while the path is still empty.
     */
    static void completeMode(Path created, Set<PosixFilePermission> wanted) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(created, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes now = view.readAttributes();
        if (now.permissions().equals(wanted)) {
            return;
        }
        try {
            view.setPermissions(wanted); // fails on a symlink swapped in meanwhile instead of changing its target
        } catch (AccessDeniedException e) {
            // The JDK opens the path to change it without following links; a umask that took the owner's
            // read bit (0477) makes that open fail for anyone but root. What lstat showed is no link:
            // change it by name.
            if (now.isSymbolicLink()) {
                throw e;
            }
            Files.setPosixFilePermissions(created, wanted);
        }
    }

    private static void writeFully(FileChannel ch, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        TempNames.RANDOM.nextBytes(b);
        return b;
    }

    /** Made on the first write, not when a read-only load touches this class: SecureRandom starts the JCA providers. */
    private static final class TempNames {
        static final SecureRandom RANDOM = new SecureRandom();
    }
}
