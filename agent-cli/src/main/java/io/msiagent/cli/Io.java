package io.msiagent.cli;

import java.io.PrintStream;
import java.util.Map;
import java.util.Objects;

/**
 * Where a command writes and what environment it reads: the process' own for {@code main}, captured
 * streams and a made-up environment for in-process tests.
 */
public record Io(PrintStream out, PrintStream err, Map<String, String> env) {
    public Io {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(err, "err");
        env = Map.copyOf(env);
    }

    public static Io system() {
        return new Io(System.out, System.err, System.getenv());
    }
}
