package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.Fault;
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
            // Started together: each JVM waits at a barrier until all are up, and the one issuance takes
            // three seconds, so every process is inside get() while another holds the lock and issues.
            Path ready = Files.createDirectory(tmp.resolve("ready"));
            emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 1, Fault.delay(Duration.ofSeconds(3)));
            List<ChildJvm> children = new ArrayList<>();
            for (int i = 0; i < PROCESSES; i++) {
                List<String> args = new ArrayList<>(Proof.childArgs("acquire", emu, ca, store));
                args.addAll(List.of("ready=" + ready, "readTimeout=PT20S"));
                children.add(Proof.child(tmp, args));
            }
            awaitFiles(ready, PROCESSES);
            for (ChildJvm c : children) {
                c.signal();
            }
            Set<String> thumbprints = new HashSet<>();
            long lastStart = 0;
            for (ChildJvm c : children) {
                JsonNode r = Proof.parse(c, c.await(240));
                assertTrue(r.get("keyMatches").asBoolean());
                thumbprints.add(r.get("x5t").asText());
                lastStart = Math.max(lastStart, r.get("getStartedAtMillis").asLong());
            }
            long saved = Files.getLastModifiedTime(store.resolve("msal_mtls.pem")).toMillis();
            assertTrue(lastStart < saved, "every process called get() before the one credential was saved: the last at "
                    + lastStart + ", saved at " + saved);
            assertEquals(1, emu.stats().certificatesIssued(), "16 processes, one issuance: " + emu.stats());
            assertEquals(1, emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
            assertEquals(1, thumbprints.size(), "every process got the same credential: " + thumbprints);
            assertEquals(thumbprints.iterator().next(), Proof.storedX5t(store));
        }
    }

    /**
     * A child forces renewals back to back (key generation, CSR, IMDS, validation, save) and is
     * SIGKILLed at a random moment of the two renewal cycles after its second renewal; after every kill, a fresh store object (what a later start
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
            int killsInsideASave = 0;
            Set<String> distinct = new HashSet<>();
            for (int trial = 0; trial < trials; trial++) {
                ChildJvm child = Proof.child(tmp, Proof.childArgs("churn", emu, ca, store));
                // After the first renewal the JVM has loaded its classes; the second gives the cycle's length,
                // and the kill falls anywhere in the next two cycles (key generation, CSR, IMDS, validation, save).
                awaitLines(child, "generation", 1, 60);
                long first = System.nanoTime();
                awaitLines(child, "generation", 2, 60);
                long cycleMillis = Math.max(1, (System.nanoTime() - first) / 1_000_000);
                long renewalsBefore = emu.stats().certificatesIssued();
                Thread.sleep(random.nextLong(2 * cycleMillis));
                assertTrue(child.process().isAlive(), "the child was still renewing when killed: " + child.stderr());
                child.kill();
                renewalsSeen += emu.stats().certificatesIssued() - renewalsBefore;
                if (saveInterrupted(store)) {
                    killsInsideASave++;
                }

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
            // How many kills landed inside the save's writes is counted, not required: they take a few ms of a
            // cycle of about a second. linux-store's CrashConsistencyTest kills a child that does nothing but save.
            assertTrue(distinct.size() > 1, "the stored entry moved on between trials");
            try (Stream<Path> files = Files.list(store)) {
                System.out.println("kill trials=" + trials + " seed=" + seed + " renewals=" + renewalsSeen + " kills inside a save="
                        + killsInsideASave
                        + " distinct stored=" + distinct.size() + " files left: " + files.map(p -> p.getFileName().toString()).toList());
            }
        }
    }

    /** Until {@code dir} holds {@code n} files (each child at the barrier writes one), at most 240 s. */
    static void awaitFiles(Path dir, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        while (count(dir) < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(n, count(dir), "every JVM reached the barrier");
    }

    private static long count(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    /**
     * Whether the killed save left its traces, read before anything loads the store: a temp file of
     * an atomic write, or metadata still naming the previous certificate beside the new one (a save
     * writes {new, previous}, then the PEM, then {new}).
     */
    private static boolean saveInterrupted(Path store) throws Exception {
        try (Stream<Path> files = Files.list(store)) {
            if (files.anyMatch(p -> p.getFileName().toString().contains(".tmp-"))) {
                return true;
            }
        }
        Path metadata = store.resolve("msal_mtls.json");
        return Files.exists(metadata) && Proof.JSON.readTree(Files.readString(metadata)).path("entries").size() > 1;
    }

    private static void awaitLines(ChildJvm child, String word, int times, long seconds) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < deadline) {
            if (child.stdout().lines().filter(l -> l.contains(word)).count() >= times) {
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
