package io.msiagent.store.linux;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One thing wrong with the store's files or directory, for {@code doctor}. {@link Severity#ERROR}
 * findings make the store refuse to load or save (a symlink, a foreign owner, a file of the wrong
 * type); {@link Severity#WARNING} findings are repaired on the next load or save (too-open modes)
 * or only reported (a world-writable parent directory).
 */
public record PermissionFinding(Path path, Severity severity, String problem) {
    public enum Severity {
        WARNING,
        ERROR
    }

    public PermissionFinding {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(problem, "problem");
    }

    @Override
    public String toString() {
        return severity + " " + path + ": " + problem;
    }
}
