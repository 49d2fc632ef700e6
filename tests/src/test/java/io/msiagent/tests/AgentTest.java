package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.Fault;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.tests.child.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent ({@code java -jar msi-agent.jar run}) with library processes, and the soak: renewals on
 * time with no failure and no growth in RSS or open files.
 */
class AgentTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void theAgentAndSixteenLibraryProcessesOnAColdStoreCauseExactlyOneIssuance() throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            // As in MultiProcessTest: the 16 wait at a barrier, released as the agent starts, and the one issuance
            // takes three seconds, so all of them are inside get() while one process holds the lock and issues.
            Path ready = Files.createDirectory(tmp.resolve("ready"));
            emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 1, Fault.delay(Duration.ofSeconds(3)));
            List<ChildJvm> children = new ArrayList<>();
            for (int i = 0; i < MultiProcessTest.PROCESSES; i++) {
                List<String> args = new ArrayList<>(Proof.childArgs("acquire", emu, ca, store));
                args.addAll(List.of("ready=" + ready, "readTimeout=PT20S"));
                children.add(Proof.child(tmp, args));
            }
            MultiProcessTest.awaitFiles(ready, MultiProcessTest.PROCESSES);
            try (AgentProcess agent = AgentProcess.start(tmp, emu, ca, store)) {
                for (ChildJvm c : children) {
                    c.signal();
                }
                Set<String> thumbprints = new HashSet<>();
                long lastStart = 0;
                for (ChildJvm c : children) {
                    JsonNode r = Proof.parse(c, c.await(240));
                    thumbprints.add(r.get("x5t").asText());
                    lastStart = Math.max(lastStart, r.get("getStartedAtMillis").asLong());
                }
                JsonNode acquired = agent.await(e -> "ACQUIRED".equals(e.path("event").asText()), 1, Duration.ofSeconds(120)).get(0);
                thumbprints.add(acquired.get("x5tS256").asText());
                long saved = Files.getLastModifiedTime(store.resolve("msal_mtls.pem")).toMillis();
                assertTrue(lastStart < saved, "every library process called get() before the credential was saved");
                assertEquals(1, thumbprints.size(), "agent and 16 processes hold one credential: " + thumbprints);
                assertEquals(1, emu.stats().certificatesIssued(), "exactly one issuance: " + emu.stats());
                assertEquals(1, emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
                assertEquals(0, agent.stop(), "SIGTERM stops the agent with exit 0");
            }
        }
    }

    /** 45 s in the default build; {@code -Psoak} runs {@code msi.soakSeconds} (600) with a sample each minute. */
    @Test
    @Timeout(900)
    void shortSoak() throws Exception {
        soak(Duration.ofSeconds(45), Duration.ofSeconds(15));
    }

    @Test
    @Tag("soak")
    @Timeout(3600)
    void tenMinuteSoakWithFifteenSecondCertificates() throws Exception {
        soak(Duration.ofSeconds(Long.getLong("msi.soakSeconds", 600)), Duration.ofMinutes(1));
    }

    /** The agent's live heap, after the full GC that {@code jcmd GC.class_histogram} makes first. */
    private static long liveHeapBytes(long pid) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid),
                "GC.class_histogram").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        String total = out.lines().filter(l -> l.startsWith("Total")).findFirst().orElseThrow(() -> new AssertionError(out));
        String[] parts = total.trim().split("\\s+");
        return Long.parseLong(parts[2]);
    }

    private void soak(Duration length, Duration sampleEvery) throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofSeconds(15))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            try (AgentProcess agent = AgentProcess.start(tmp, emu, ca, store)) {
                agent.await(e -> "ACQUIRED".equals(e.path("event").asText()), 1, Duration.ofSeconds(120));
                // jcmd's first attach leaves the agent's attach listener socket open: one more descriptor for
                // good, which must be there before the first sample rather than look like growth
                liveHeapBytes(agent.pid());
                List<long[]> samples = new ArrayList<>(); // VmRSS KiB, open files
                long start = System.nanoTime();
                long end = start + length.toNanos();
                long next = start;
                long liveAtHalf = -1;
                while (System.nanoTime() < end) {
                    if (System.nanoTime() >= next) {
                        samples.add(agent.rssAndFds());
                        next += sampleEvery.toNanos();
                    }
                    if (liveAtHalf < 0 && System.nanoTime() - start >= length.toNanos() / 2) {
                        liveAtHalf = liveHeapBytes(agent.pid());
                    }
                    Thread.sleep(200);
                }
                long liveAtEnd = liveHeapBytes(agent.pid());
                samples.add(agent.rssAndFds());
                assertEquals(0, agent.stop());
                List<JsonNode> events = agent.events(); // all of them: a renewal just before the stop is in the store too

                // every renewal on time: each credential was replaced within 3 s after its renewAt
                List<JsonNode> credentials = events.stream().filter(e -> e.has("renewAt")
                        && List.of("ACQUIRED", "RENEWED").contains(e.path("event").asText())).toList();
                long expected = length.toSeconds() / 8;
                assertTrue(credentials.size() - 1 >= expected, "renewals in " + length + ": " + (credentials.size() - 1));
                for (int i = 1; i < credentials.size(); i++) {
                    Instant due = Instant.parse(credentials.get(i - 1).get("renewAt").asText());
                    Instant at = Instant.parse(credentials.get(i).get("time").asText());
                    long lateMillis = Duration.between(due, at).toMillis();
                    assertTrue(lateMillis >= -50 && lateMillis < 3000, "renewal " + i + " on time: " + lateMillis + " ms after renewAt");
                    assertTrue(at.isBefore(Instant.parse(credentials.get(i - 1).get("notAfter").asText())), "renewed before expiry");
                }
                List<String> failures = events.stream().map(e -> e.path("event").asText())
                        .filter(t -> t.contains("FAILED") || t.equals("EXPIRED") || t.equals("NOT_PERSISTED")).toList();
                assertEquals(List.of(), failures, "no failure, nothing expired, every renewal stored");
                assertEquals(credentials.size(), emu.stats().certificatesIssued(), "one issuance per renewal");
                assertEquals(credentials.get(credentials.size() - 1).get("x5tS256").asText(), Proof.storedX5t(store),
                        "the store holds the last renewal");

                // no growth: the last sample against the first taken after warm-up
                long[] first = samples.get(Math.min(1, samples.size() - 1));
                long[] last = samples.get(samples.size() - 1);
                StringBuilder table = new StringBuilder("agent soak " + length + ": VmRSS KiB / fds per sample:");
                samples.forEach(s -> table.append(' ').append(s[0]).append('/').append(s[1]));
                System.out.println(table);
                assertTrue(last[1] <= first[1] + 2, "open files do not grow: " + table);
                assertTrue(last[0] <= first[0] * 1.25 + 4096, "RSS does not grow: " + table);
                // RSS alone cannot tell a leak from the JVM settling (JIT code, metaspace, heap pages touched for the
                // first time: ~0.5-0.8 MiB/min in 10-minute runs). What the agent keeps alive can: the live heap after a
                // full GC (jcmd's class histogram) over the second half of the run, which may grow by 256 KiB per
                // minute of the whole run, i.e. a leak faster than ~0.5 MiB/min fails.
                long liveGrowth = liveAtEnd - liveAtHalf;
                System.out.println("agent soak " + length + ": live heap " + liveAtHalf + " -> " + liveAtEnd + " bytes");
                assertTrue(liveGrowth <= Math.max(512 * 1024, length.toMinutes() * 256 * 1024),
                        "the live heap grew " + liveGrowth + " bytes in the second half (" + liveAtHalf + " -> " + liveAtEnd + ")");
            }
        }
    }
}
