package io.msiagent.tests;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.tests.child.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** {@code java -jar msi-agent.jar --json run} as a child process, its JSON events read from its stdout file. */
final class AgentProcess implements AutoCloseable {
    final ChildJvm child;

    private AgentProcess(ChildJvm child) {
        this.child = child;
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("msi.agentJar", "../agent-cli/target/msi-agent.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build agent-cli (package) first");
        }
        return jar;
    }

    static AgentProcess start(Path work, ImdsEmulator emu, Path caFile, Path store) throws IOException {
        return new AgentProcess(ChildJvm.startCommand(work,
                List.of(ChildJvm.javaBinary(), "-XX:+UseSerialGC", "-Xmx64m", "-jar", jar().toString(), "--json", "run"),
                Map.of("MSI_AGENT_IMDS_ENDPOINT", emu.imdsEndpoint(), "MSI_AGENT_STORE_DIR", store.toString(),
                        "MSI_AGENT_TRUST_CA", caFile.toString())));
    }

    long pid() {
        return child.pid();
    }

    List<JsonNode> events() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : child.stdout().lines().toList()) {
            if (line.startsWith("{")) {
                out.add(Proof.JSON.readTree(line));
            }
        }
        return out;
    }

    List<JsonNode> events(String type) throws IOException {
        return events().stream().filter(e -> type.equals(e.path("event").asText())).toList();
    }

    /** Waits until {@code count} events match, or fails with what the agent said. */
    List<JsonNode> await(Predicate<JsonNode> match, int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            List<JsonNode> m = events().stream().filter(match).toList();
            if (m.size() >= count) {
                return m;
            }
            if (!child.process().isAlive()) {
                throw new AssertionError("agent exited " + child.exitCode() + ": " + child.stdout() + "\n" + child.stderr());
            }
            Thread.sleep(50);
        }
        throw new AssertionError("agent: fewer than " + count + " matching events in " + timeout + ": " + child.stdout() + "\n" + child.stderr());
    }

    /** VmRSS in KiB and the number of open file descriptors, from /proc. */
    long[] rssAndFds() throws IOException {
        long rss = -1;
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (l.startsWith("VmRSS:")) {
                rss = Long.parseLong(l.replaceAll("\\D+", ""));
            }
        }
        long fds;
        try (var s = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            fds = s.count();
        }
        return new long[] {rss, fds};
    }

    /** SIGTERM; returns the exit code. */
    int stop() throws InterruptedException {
        child.process().destroy();
        if (!child.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            child.kill();
            throw new AssertionError("the agent did not stop on SIGTERM within 20 s");
        }
        return child.exitCode();
    }

    @Override
    public void close() throws InterruptedException {
        if (child.process().isAlive()) {
            child.kill();
        }
    }
}
