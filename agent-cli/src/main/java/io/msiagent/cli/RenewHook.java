package io.msiagent.cli;

import io.msiagent.core.MtlsCredential;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * {@code --on-renew CMD}: runs {@code sh -c CMD} ({@code cmd /c CMD} on Windows) after each change of
 * the credential served (the agent decides which, see {@link Agent}), one at a time, with
 * {@code MSI_AGENT_X5T_S256}, {@code MSI_AGENT_CERT_FILE}, {@code MSI_AGENT_IDENTITY} and
 * {@code MSI_AGENT_NOT_AFTER} in its environment. Its output goes to our stderr (stdout carries the
 * event lines); it is killed after {@link #TIMEOUT}; a failure is an event, never fatal.
 */
final class RenewHook implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** What happened: exit code (or -1), how long, and why it failed (null on exit 0). */
    record Result(int exitCode, Duration duration, String failure) {
    }

    interface Listener {
        void onResult(MtlsCredential credential, Result result);
    }

    private final String command;
    private final PrintStream err;
    private final Listener listener;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "msi-agent-on-renew");
        t.setDaemon(true);
        return t;
    });

    RenewHook(String command, PrintStream err, Listener listener) {
        this.command = command;
        this.err = err;
        this.listener = listener;
    }

    void fire(MtlsCredential credential, String certFile) {
        try {
            runner.execute(() -> listener.onResult(credential, run(credential, certFile)));
        } catch (RejectedExecutionException e) {
            // shutting down
        }
    }

    Result run(MtlsCredential c, String certFile) {
        boolean windows = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
        ProcessBuilder pb = new ProcessBuilder(windows ? List.of("cmd", "/c", command) : List.of("sh", "-c", command));
        Map<String, String> env = pb.environment();
        env.put("MSI_AGENT_X5T_S256", c.x5tS256());
        env.put("MSI_AGENT_CERT_FILE", certFile);
        env.put("MSI_AGENT_IDENTITY", c.identity().toString());
        env.put("MSI_AGENT_NOT_AFTER", c.notAfter().toString());
        pb.redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File(windows ? "NUL" : "/dev/null")));
        long start = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Result(-1, Duration.ofNanos(System.nanoTime() - start), "cannot start: " + e.getMessage());
        }
        Thread copier = new Thread(() -> copy(p.getInputStream()), "msi-agent-on-renew-output");
        copier.setDaemon(true);
        copier.start();
        try {
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return new Result(-1, Duration.ofNanos(System.nanoTime() - start), "killed after " + TIMEOUT.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(-1, Duration.ofNanos(System.nanoTime() - start), "interrupted");
        }
        int code = p.exitValue();
        return new Result(code, Duration.ofNanos(System.nanoTime() - start), code == 0 ? null : "exited with " + code);
    }

    private void copy(InputStream in) {
        try (in) {
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) {
                synchronized (err) {
                    err.print(new String(buf, 0, n, StandardCharsets.UTF_8));
                    err.flush();
                }
            }
        } catch (IOException e) {
            // the process ended or was killed
        }
    }

    @Override
    public void close() {
        runner.shutdownNow();
    }
}
