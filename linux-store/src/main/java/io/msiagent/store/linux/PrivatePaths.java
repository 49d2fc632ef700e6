package io.msiagent.store.linux;

import io.msiagent.core.StoreException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ownership and mode policy for the store's paths (invariant 9): a symlink, a foreign owner or
 * a path of the wrong type is refused; group or world access on a path we own is repaired (with a
 * warning). {@code examine*} only report, for {@code doctor}; {@code enforce*} repair or refuse.
 */
public final class PrivatePaths {
    private static final int WORLD_WRITABLE = 0002;
    private static final int STICKY = 01000;
    private static final int OWNER_READ = 0400;

    private PrivatePaths() {
    }

    /** The effective uid of this process: the owner every store path must have. */
    public static int currentUid() {
        return Uid.VALUE;
    }

    /** Findings for a store file; empty when it is fine or absent. */
    public static List<PermissionFinding> examineFile(Path file) throws IOException {
        Optional<PermissionFinding> finding = examine(file, false, PathFacts.of(file));
        return finding.isPresent() ? List.of(finding.get()) : List.of();
    }

    /**
     * Findings for the store directory, its parent (a world-writable parent lets others replace the
     * directory) and the directories above it (as OpenSSH's StrictModes judges the path to a user's
     * keys: one that another user owns or may rename entries in, sticky bit aside, lets that user
     * swap the whole path); empty when all is fine or the directory does not exist yet.
     */
    public static List<PermissionFinding> examineDirectory(Path dir) throws IOException {
        return examineDirectory(dir, true);
    }

    /**
     * {@code stickyParent}: whether a world-writable parent with the sticky bit (/tmp) is reported.
     * doctor reports it; a load does not warn of it at every command, since the sticky bit keeps
     * others from renaming or removing the store directory, and a directory they create in its
     * place is theirs, which the store refuses.
     */
    private static List<PermissionFinding> examineDirectory(Path dir, boolean stickyParent) throws IOException {
        List<PermissionFinding> findings = new ArrayList<>();
        PathFacts facts = PathFacts.of(dir);
        Optional<PermissionFinding> finding = examine(dir, true, facts);
        if (finding.isPresent()) { // not ifPresent(findings::add): serving a stored credential passes here, lambda-free
            findings.add(finding.get());
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            PathFacts p = PathFacts.of(parent);
            if (p.symlink()) {
                // lstat describes the link itself (always 0777); what guards the store is the directory it leads to
                try {
                    parent = parent.toRealPath();
                    p = PathFacts.of(parent);
                } catch (NoSuchFileException dangling) {
                    return findings;
                }
            }
            if (p.exists() && (p.permissions() & WORLD_WRITABLE) != 0 && (stickyParent || (p.permissions() & STICKY) == 0)) {
                findings.add(new PermissionFinding(parent, PermissionFinding.Severity.WARNING,
                        "parent directory is world-writable (mode " + p.octal()
                                + ((p.permissions() & STICKY) != 0 ? ", sticky" : "")
                                + "): other users can create or rename entries next to the store"));
            }
            if (p.exists() && p.uid() != currentUid() && p.uid() != 0) {
                findings.add(new PermissionFinding(parent, PermissionFinding.Severity.WARNING,
                        "parent directory is owned by uid " + p.uid() + ", neither this process' uid " + currentUid()
                                + " nor root: its owner can rename or replace the store"));
            }
            if (p.exists()) {
                examineAncestors(parent.toRealPath(), findings);
            }
        }
        return findings;
    }

    /** The directories above the (real) parent; a sticky world-writable one such as /tmp is fine. */
    private static void examineAncestors(Path realParent, List<PermissionFinding> findings) throws IOException {
        for (Path a = realParent.getParent(); a != null; a = a.getParent()) {
            PathFacts f = PathFacts.of(a);
            if ((f.permissions() & WORLD_WRITABLE) != 0 && (f.permissions() & STICKY) == 0) {
                findings.add(new PermissionFinding(a, PermissionFinding.Severity.WARNING, "directory above the store is"
                        + " world-writable without the sticky bit (mode " + f.octal() + "): other users can rename the path to the store"));
            }
            if (f.uid() != currentUid() && f.uid() != 0) {
                findings.add(new PermissionFinding(a, PermissionFinding.Severity.WARNING, "directory above the store is owned by uid "
                        + f.uid() + ", neither this process' uid " + currentUid() + " nor root: its owner can replace the path to the store"));
            }
        }
    }

    /** Refuses a symlink, foreign owner or non-file; repairs a too-open mode. No-op when absent. */
    static void enforceFile(Path file) throws IOException {
        enforce(file, false);
    }

    /**
     * As {@link #enforceFile} for the store directory; returns the warnings about the directories
     * above it (a world-writable parent without the sticky bit, say), which no repair here touches,
     * for the caller to report.
     */
    static List<PermissionFinding> enforceDirectory(Path dir) throws IOException {
        enforce(dir, true);
        List<PermissionFinding> above = new ArrayList<>();
        for (PermissionFinding f : examineDirectory(dir, false)) {
            if (!f.path().equals(dir)) {
                above.add(f);
            }
        }
        return above;
    }

    private static void enforce(Path path, boolean directory) throws IOException {
        PathFacts facts = PathFacts.of(path);
        Optional<PermissionFinding> finding = examine(path, directory, facts);
        if (finding.isEmpty()) {
            return;
        }
        if (finding.get().severity() == PermissionFinding.Severity.ERROR) {
            throw new StoreException(path.toString(), finding.get().problem());
        }
        try {
            Files.setPosixFilePermissions(path, directory ? SecureFiles.DIRECTORY_MODE : SecureFiles.FILE_MODE);
        } catch (NoSuchFileException gone) {
            // Quarantined or cleared by another process since the lstat (a peek repairs without the
            // lock): absent, as if the lstat had not found it, so the caller reads nothing, not an error.
            return;
        }
        log().warn("{}: repaired mode {} to {}", path, facts.octal(), directory ? "0700" : "0600");
    }

    private static Optional<PermissionFinding> examine(Path path, boolean directory, PathFacts facts) {
        if (!facts.exists()) {
            return Optional.empty();
        }
        if (facts.symlink()) {
            return error(path, "is a symbolic link; the store never follows links: remove it");
        }
        if (directory ? !facts.directory() : !facts.regularFile()) {
            return error(path, "is not a " + (directory ? "directory" : "regular file"));
        }
        if (facts.uid() != currentUid()) {
            return error(path, "is owned by uid " + facts.uid() + ", not by this process' uid " + currentUid()
                    + ": refusing to use it");
        }
        if ((facts.permissions() & PathFacts.GROUP_OTHER_BITS) != 0) {
            return Optional.of(new PermissionFinding(path, PermissionFinding.Severity.WARNING, "mode " + facts.octal()
                    + " gives group/other access; must be " + (directory ? "0700" : "0600")));
        }
        if (!directory && (facts.permissions() & OWNER_READ) == 0) {
            // Our own file (owner checked above) that we cannot read would fail every load; the
            // directory is left alone: a read-only store directory can be a deliberate choice.
            return Optional.of(new PermissionFinding(path, PermissionFinding.Severity.WARNING, "mode " + facts.octal()
                    + " does not let its owner read it; must be 0600"));
        }
        return Optional.empty();
    }

    private static Optional<PermissionFinding> error(Path path, String problem) {
        return Optional.of(new PermissionFinding(path, PermissionFinding.Severity.ERROR, problem));
    }

    /**
     * Resolved once: the effective uid, i.e. the owner of the files this process creates. Linux
     * gives {@code /proc/self/status} that owner; without /proc, a probe file tells the same.
     */
    private static final class Uid {
        static final int VALUE = probe();

        private static int probe() {
            try {
                PathFacts self = PathFacts.of(Path.of("/proc/self/status"));
                if (self.exists()) {
                    return self.uid();
                }
                Path probe = Files.createTempFile("msi-agent-uid", ".probe");
                try {
                    return PathFacts.of(probe).uid();
                } finally {
                    Files.deleteIfExists(probe);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot determine this process' uid", e);
            }
        }
    }

    /** Resolved at the first log line: slf4j's start-up (~15 ms in a fresh JVM) stays off a cold start's path. */
    private static Logger log() {
        return LogHolder.LOG;
    }

    private static final class LogHolder {
        static final Logger LOG = LoggerFactory.getLogger(PrivatePaths.class);
    }
}
