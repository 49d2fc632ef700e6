package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.store.linux.SecureFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The append-only audit trail beside the store ({@code <store-dir>/audit.log}): one JSON line per
 * issuance, renewal, failure, adoption, removal. Fields: {@code time, identity, event, thumbprint}
 * (x5t#S256), {@code notAfter, trigger, outcome, duration} (seconds), {@code pid}, and
 * {@code reason} on failures. Never a key or a token. 0600 from its first byte; rotated to
 * {@code audit.log.1} past 1 MiB. Writing it never fails the caller: {@link #append} returns the
 * problem instead.
 */
final class AuditLog {
    static final String FILE = "audit.log";
    static final long MAX_BYTES = 1L << 20;

    private final Path file;
    private final Clock clock;
    private final boolean posix;

    AuditLog(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        this.posix = file != null && file.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    /** The audit log of a store directory; a no-op log when {@code dir} is null. */
    static AuditLog beside(Path dir) {
        return new AuditLog(dir == null ? null : dir.resolve(FILE), Clock.systemUTC());
    }

    Path file() {
        return file;
    }

    /** An entry; {@code credential}, {@code duration} and {@code reason} may be null. Returns a problem, or null when written. */
    synchronized String append(ManagedIdentityId identity, String event, MtlsCredential credential, String trigger, String outcome,
            Duration duration, String reason) {
        if (file == null) {
            return null;
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("time", clock.instant().toString());
        line.put("identity", identity.toString());
        line.put("event", event);
        line.put("thumbprint", credential == null ? null : credential.x5tS256());
        line.put("notAfter", credential == null ? null : credential.notAfter().toString());
        line.put("trigger", trigger);
        line.put("outcome", outcome);
        line.put("duration", duration == null ? null : duration.toMillis() / 1000.0);
        line.put("pid", ProcessHandle.current().pid());
        if (reason != null) {
            line.put("reason", reason);
        }
        byte[] bytes = (Output.json(line) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            if (!Files.isDirectory(file.getParent(), LinkOption.NOFOLLOW_LINKS)) {
                return null; // no store yet: nothing to audit beside
            }
            rotateIfFull();
            if (posix) {
                SecureFiles.append(file, bytes);
            } else {
                Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "audit log " + file + ": " + (e.getMessage() != null ? e.getMessage() : e.toString());
        }
    }

    private void rotateIfFull() throws IOException {
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && Files.size(file) >= MAX_BYTES) {
            Files.move(file, file.resolveSibling(FILE + ".1"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
