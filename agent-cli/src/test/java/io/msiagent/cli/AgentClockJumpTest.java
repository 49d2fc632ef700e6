package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.imds.ImdsClient;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The agent notices a wall-clock jump against the monotonic clock on its watch tick and says so. */
class AgentClockJumpTest {
    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.defaults());

    @TempDir
    Path tmp;

    /** The system clock plus an offset the test moves (a VM resumed from suspend, an NTP step). */
    static final class JumpingClock extends Clock {
        final AtomicLong offsetMillis = new AtomicLong();

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plusMillis(offsetMillis.get());
        }
    }

    @Test
    void aClockJumpIsReportedAndReplanned() throws Exception {
        ImdsEmulator emu = EMULATOR.emulator();
        ManagedIdentityId id = ManagedIdentityId.systemAssigned();
        ObservedStore store = new ObservedStore(LinuxCredentialStore.builder().directory(tmp.resolve("certs")).build());
        JumpingClock clock = new JumpingClock();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentEvents events = new AgentEvents(new PrintStream(out, true, StandardCharsets.UTF_8), true, id, clock);
        Agent agent = new Agent(id, store, () -> MsiCredentialCache.builder().identity(id).store(store)
                .imdsClient(ImdsClient.builder().endpoint(emu.imdsEndpoint()).build()).build(),
                events, AuditLog.beside(null), new AgentMetrics(id, clock), null, System.err, clock);
        agent.start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!out.toString(StandardCharsets.UTF_8).contains("\"ACQUIRED\"") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            clock.offsetMillis.set(Duration.ofMinutes(10).toMillis());
            JsonNode jump = null;
            deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (jump == null && System.nanoTime() < deadline) {
                Thread.sleep(100);
                List<JsonNode> lines = out.toString(StandardCharsets.UTF_8).lines().map(AgentProcessTest::json).toList();
                jump = lines.stream().filter(n -> n.get("event").asText().equals("CLOCK_JUMP")).findFirst().orElse(null);
            }
            assertTrue(jump != null, out.toString(StandardCharsets.UTF_8));
            assertEquals(600, jump.get("jump").asDouble(), 5);
        } finally {
            agent.shutdown("test");
        }
    }
}
