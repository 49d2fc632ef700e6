package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.tests.child.ChildJvm;
import io.msiagent.tests.child.Stack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Many JVMs on one store: one issuance for all, and SIGKILL during renewals never leaves an unusable store. */
class MultiProcessTest {
    static final int PROCESSES = 16;

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void sixteenJvmsStartedTogetherOnAColdStoreCauseExactlyOneIssuance() throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            List<ChildJvm> children = new ArrayList<>();
            for (int i = 0; i < PROCESSES; i++) {
                children.add(Proof.child(tmp, Proof.childArgs("acquire", emu, ca, store)));
            }
            Set<String> thumbprints = new HashSet<>();
            for (ChildJvm c : children) {
                JsonNode r = Proof.parse(c, c.await(240));
                assertTrue(r.get("keyMatches").asBoolean());
                thumbprints.add(r.get("x5t").asText());
            }
            assertEquals(1, emu.stats().certificatesIssued(), "16 processes, one issuance: " + emu.stats());
            assertEquals(1, emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
            assertEquals(1, thumbprints.size(), "every process got the same credential: " + thumbprints);
            assertEquals(thumbprints.iterator().next(), Proof.storedX5t(store));
        }
    }

    /**
     * A child forces renewals back to back (key generation, CSR, IMDS, validation, save) and is
     * SIGKILLed at a random moment within about the next 0.8 s after its first renewal; after every kill, a fresh store object (what a later start
     * uses) must load a key that matches its certificate. {@code -Dmsi.killTrials} (default 20,
     * 200 with {@code -Psoak}). Every fifth trial a fresh JVM also starts on the store and must be
     * served without IMDS.
     */
    @Test
    @Timeout(3600)
    void sigkillAtRandomMomentsOfRenewalsAlwaysLeavesALoadableMatchingEntry() throws Exception {
        int trials = Integer.getInteger("msi.killTrials", 20);
        long seed = Long.getLong("msi.killSeed", System.nanoTime());
        Random random = new Random(seed);
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            long renewalsSeen = 0;
            Set<String> distinct = new HashSet<>();
            for (int trial = 0; trial < trials; trial++) {
                ChildJvm child = Proof.child(tmp, Proof.childArgs("churn", emu, ca, store));
                long renewalsBefore = emu.stats().certificatesIssued();
                // after the first renewal the JVM has loaded its classes: kill within the next few renewals
                awaitLine(child, "generation", 60);
                Thread.sleep(random.nextInt(800));
                child.kill();
                renewalsSeen += emu.stats().certificatesIssued() - renewalsBefore;

                LoadResult r = Stack.store(store, false).load(Proof.SYSTEM);
                assertEquals(LoadResult.Kind.FOUND, r.kind(), "trial " + trial + " (seed " + seed + "): " + r);
                MtlsCredential c = r.credential().orElseThrow();
                assertTrue(Stack.keyMatchesCertificate(c), "trial " + trial + " (seed " + seed + "): key and certificate match");
                distinct.add(c.x5tS256());
                if (trial % 5 == 4) {
                    emu.reset();
                    JsonNode started = Proof.runChild(tmp, Proof.childArgs("acquire", emu, ca, store), 60);
                    assertEquals(c.x5tS256(), started.get("x5t").asText(), "a later start serves the stored entry");
                    assertEquals(0, emu.stats().certificatesIssued(), "... without IMDS");
                }
            }
            assertTrue(renewalsSeen >= trials, "the kills landed among renewals: " + renewalsSeen + " issued during " + trials + " trials");
            assertTrue(distinct.size() > 1, "the stored entry moved on between trials");
            try (Stream<Path> files = Files.list(store)) {
                System.out.println("kill trials=" + trials + " seed=" + seed + " renewals=" + renewalsSeen
                        + " distinct stored=" + distinct.size() + " files left: " + files.map(p -> p.getFileName().toString()).toList());
            }
        }
    }

    private static void awaitLine(ChildJvm child, String word, long seconds) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < deadline) {
            if (child.stdout().contains(word)) {
                return;
            }
            if (!child.process().isAlive()) {
                throw new AssertionError("child exited early: " + child.stdout() + "\n" + child.stderr());
            }
            Thread.sleep(20);
        }
        child.kill();
        throw new AssertionError("child never printed " + word + ": " + child.stderr());
    }
}
