package io.msiagent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code msi-agent run --json} as a real child process ({@code java -cp <test class path> io.msiagent.cli.Main}):
 * its event lines, parsed as they come, and a real SIGTERM.
 */
final class AgentProcess implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
    private final List<JsonNode> all = new CopyOnWriteArrayList<>();
    private final List<String> badLines = new CopyOnWriteArrayList<>();
    private final StringBuffer stderr = new StringBuffer();
    private final Thread outReader;

    AgentProcess(Map<String, String> env, Path storeDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--json", "--store-dir", storeDir.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("MSI_AGENT_") || k.endsWith("_PROXY") || k.endsWith("_proxy"));
        pb.environment().putAll(env);
        process = pb.start();
        Thread out = new Thread(() -> read(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), true));
        Thread err = new Thread(() -> read(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), false));
        out.setDaemon(true);
        err.setDaemon(true);
        outReader = out;
        out.start();
        err.start();
    }

    private void read(BufferedReader r, boolean json) {
        try (r) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!json) {
                    stderr.append(line).append('\n');
                    continue;
                }
                try {
                    JsonNode n = Cli.JSON.readTree(line);
                    all.add(n);
                    events.add(n);
                } catch (IOException e) {
                    badLines.add(line);
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /** The next event (in order) that {@code match} accepts, skipping others; fails after {@code timeout}. */
    JsonNode await(Predicate<JsonNode> match, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            JsonNode n = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : null;
            if (n == null) {
                throw new AssertionError("no " + what + " within " + timeout + "; events: " + all + "\nstderr: " + stderr);
            }
            if (match.test(n)) {
                return n;
            }
        }
    }

    JsonNode await(String event, Duration timeout) throws InterruptedException {
        return await(n -> event.equals(n.path("event").asText()), timeout, event);
    }

    List<JsonNode> events() {
        return List.copyOf(all);
    }

    List<String> nonJsonLines() {
        return List.copyOf(badLines);
    }

    String stderr() {
        return stderr.toString();
    }

    Process process() {
        return process;
    }

    /**
     * {@code kill -TERM <pid>} (not Process.destroy(), which also closes our end of the child's
     * stdout and would lose its last event lines), then the exit code, or -1 if still alive after {@code wait}.
     */
    int terminate(Duration wait) throws InterruptedException, IOException {
        signal("TERM");
        if (!process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        outReader.join(5000); // the last event lines
        return process.exitValue();
    }

    void signal(String name) throws InterruptedException, IOException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
