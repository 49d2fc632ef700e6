package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.store.linux.PermissionFinding;
import io.msiagent.store.linux.PrivatePaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the Linux store can be read at all, examined without writing or repairing: for
 * {@code status} and for {@code demo} in a given store. The store's {@code inspect} reports every problem as an INVALID entry; but a store directory that
 * is a regular file, a symlink, someone else's or unreadable (and an entry file that is a symlink,
 * someone else's or unreadable) is a store failure, exit 4, as {@code acquire} reports it: retrying
 * or re-acquiring cannot help, a person has to fix the path. Content that does not parse stays an
 * INVALID entry (exit 2), which {@code acquire} recovers from by re-issuing.
 */
final class StoreAccess {
    private StoreAccess() {
    }

    /**
     * Throws a {@link StoreException} naming the path and what is wrong; returns the warnings about
     * the store's own paths (a too-open mode, which the next load repairs) for the caller to show.
     * Does nothing on other platforms' stores.
     */
    static List<PermissionFinding> requireReadable(CredentialStore store, ManagedIdentityId identity) {
        if (!(store instanceof LinuxCredentialStore linux)) {
            return List.of(); // other platforms' stores report their own problems through inspect
        }
        List<PermissionFinding> warnings = new ArrayList<>();
        Path dir = linux.directory();
        requireNoError(dir, examine(dir, true), warnings);
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return warnings; // nothing stored yet: MISSING
        }
        requireAccess(dir, Files.isReadable(dir) && Files.isExecutable(dir), "cannot be listed by this process");
        for (Path file : List.of(linux.pemFile(identity), linux.metadataFile(identity))) {
            requireNoError(file, examine(file, false), warnings);
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                requireAccess(file, Files.isReadable(file), "cannot be read by this process");
            }
        }
        // not read, but every load refuses it as it refuses the PEM (it holds the key too)
        requireNoError(linux.pkcs12File(identity), examine(linux.pkcs12File(identity), false), warnings);
        return warnings;
    }

    private static List<PermissionFinding> examine(Path path, boolean directory) {
        try {
            return directory ? PrivatePaths.examineDirectory(path) : PrivatePaths.examineFile(path);
        } catch (IOException e) {
            throw new StoreException(path.toString(), "cannot be examined: " + e.getMessage(), e);
        }
    }

    /**
     * The path's own errors throw, its own warnings (a too-open mode) are added to {@code warnings};
     * what is wrong above the store (a world-writable parent) is doctor's to report.
     */
    private static void requireNoError(Path path, List<PermissionFinding> findings, List<PermissionFinding> warnings) {
        for (PermissionFinding f : findings) {
            if (f.path().equals(path)) {
                if (f.severity() == PermissionFinding.Severity.ERROR) {
                    throw new StoreException(path.toString(), f.problem());
                }
                warnings.add(f);
            }
        }
    }

    private static void requireAccess(Path path, boolean allowed, String problem) {
        if (!allowed) {
            throw new StoreException(path.toString(), problem + " (" + mode(path) + ")");
        }
    }

    private static String mode(Path path) {
        try {
            return "mode " + PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
        } catch (IOException | UnsupportedOperationException e) {
            return "mode unknown";
        }
    }
}
