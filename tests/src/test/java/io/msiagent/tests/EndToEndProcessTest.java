package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.tests.bench.ServingPathFloor;
import io.msiagent.tests.child.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The library in fresh JVMs against the emulator: what a user's process sees across starts, renewals and rotations. */
@Timeout(180)
class EndToEndProcessTest {
    @TempDir
    Path tmp;

    @Test
    void coldAcquireThenRestartIsServedFromTheStoreWithoutCallingImds() throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");

            JsonNode first = Proof.runChild(tmp, Proof.childArgs("acquire", emu, ca, store), 60);
            assertTrue(first.get("keyMatches").asBoolean());
            assertEquals(1, emu.stats().certificatesIssued(), "a cold start issues exactly one certificate");
            assertEquals(1, emu.stats().calls(EmulatorPath.PLATFORM_METADATA));
            assertEquals(first.get("x5t").asText(), Proof.storedX5t(store), "the issued credential is on disk");

            emu.reset();
            JsonNode second = Proof.runChild(tmp, Proof.childArgs("acquire", emu, ca, store), 60);
            assertEquals(first.get("x5t").asText(), second.get("x5t").asText(), "the restart serves the stored credential");
            assertEquals(0, emu.stats().calls(EmulatorPath.PLATFORM_METADATA) + emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL)
                    + emu.stats().calls(EmulatorPath.TOKEN), "a restart with a fresh stored credential makes zero IMDS calls");
            assertTrue(second.get("keyMatches").asBoolean());
        }
    }

    /**
     * What keeps a cold start short (docs/BENCHMARKS.md, "Cold start"): serving a stored credential
     * decodes no certificate or key with the JCA (that happens right after, off the caller's path) and
     * creates none of our lambdas (the JVM's first lambda costs ~8 ms). Checked on the JVM's own log of
     * the classes it loads, up to the class the cache's worker loads as it releases the waiting caller
     * (MsiCredentialCache$Release): the worker goes on to decode at once, while the caller returns.
     * And the classes the Linux store names for the cache's warm-up thread are ones its read loads.
     */
    @Test
    void aRestartServesTheStoredCredentialBeforeAnyJcaDecodingOrLambdaOfOurs() throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            Proof.runChild(tmp, Proof.childArgs("acquire", emu, ca, store), 60);
            Path log = tmp.resolve("class-load.log");

            ChildJvm restart = ChildJvm.start(tmp, List.of("-Xlog:class+load:file=" + log), Map.of(),
                    Proof.childArgs("acquire", emu, ca, store).toArray(String[]::new));
            JsonNode served = Proof.parse(restart, restart.await(60));

            assertTrue(served.get("keyMatches").asBoolean(), "the credential decodes and works once used");
            List<String> loaded = Files.readAllLines(log);
            int start = indexOf(loaded, " io.msiagent.tests.child.Stack ");
            int released = indexOf(loaded, " io.msiagent.core.MsiCredentialCache$Release ");
            List<String> coldStart = loaded.subList(start, released);
            assertTrue(coldStart.stream().anyMatch(l -> l.contains(" io.msiagent.core.EncodedKeyAndCertificate ")),
                    "the stored credential was checked without the JCA");
            for (String l : coldStart) {
                assertFalse(l.contains(" sun.security.x509.X509CertImpl ") || l.contains(" sun.security.rsa.RSAPrivateCrtKeyImpl "),
                        "decoded with the JCA before the caller was served: " + l);
                assertFalse(l.matches(".* io\\.msiagent\\.\\S*\\$\\$Lambda.*"), "a lambda of ours before the caller was served: " + l);
            }

            // The classes the store names for the cache's warm-up thread (io.msiagent.core.ColdStartWarmUp) are
            // ones its read loads: checked on a peek alone, in a JVM with no cache and so no warm-up. A stale
            // list (a class renamed or no longer read) would warm nothing, or load what no read needs.
            Path peekLog = tmp.resolve("peek-class-load.log");
            ChildJvm peek = ChildJvm.startMain(tmp, List.of("-Xlog:class+load:file=" + peekLog), Map.of(),
                    ServingPathFloor.class.getName(), "peek", store.toString());
            assertTrue(peek.await(60).contains("floorMillis"), "the peek served the stored credential");
            List<String> readLoads = Files.readAllLines(peekLog);
            List<String> listed = LinuxCredentialStore.builder().directory(store).build().warmUpClasses();
            assertFalse(listed.isEmpty());
            for (String name : listed) {
                if (name.startsWith("io.msiagent.") || resolves(name)) { // the JDK's internals differ between releases
                    assertTrue(readLoads.stream().anyMatch(l -> l.contains(" " + name + " ")), "listed for the warm-up, but a read does not load " + name);
                }
            }
        }
    }

    private static boolean resolves(String className) {
        try {
            Class.forName(className, false, EndToEndProcessTest.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static int indexOf(List<String> lines, String part) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(part)) {
                return i;
            }
        }
        throw new AssertionError("no class-load line containing" + part);
    }

    @Test
    void renewsAtHalfLifeInTheBackgroundAndPersistsTheSuccessor() throws Exception {
        Duration lifetime = Duration.ofSeconds(20);
        try (ImdsEmulator emu = Proof.emulator(lifetime)) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            JsonNode r = Proof.runChild(tmp, Proof.childArgs("renew", emu, ca, store, "timeout=40"), 90);

            JsonNode before = r.get("before");
            long notBefore = before.get("notBeforeMillis").asLong();
            long renewAt = before.get("renewAtMillis").asLong();
            long life = before.get("notAfterMillis").asLong() - notBefore;
            assertEquals(lifetime.toMillis(), life, 1000);
            double share = (renewAt - notBefore) / (double) life;
            assertTrue(share >= 0.45 && share <= 0.55, "renewAt is at half-life ± 5 %: " + share);
            long late = r.get("eventMillis").asLong() - renewAt;
            assertTrue(late >= 0 && late < 3000, "renewed on time (within 3 s after renewAt): " + late + " ms");
            assertTrue(r.get("renewedAtMillis").asLong() < before.get("notAfterMillis").asLong(), "renewed before expiry");
            assertNotEquals(before.get("x5t").asText(), r.get("after").get("x5t").asText());
            assertEquals(r.get("after").get("x5t").asText(), r.get("served").asText(), "callers get the successor");
            assertEquals(r.get("after").get("x5t").asText(), r.get("stored").asText(), "the successor is persisted");
            assertEquals(0, r.get("failures").asLong());
            assertEquals(2, emu.stats().certificatesIssued(), "one cold issuance, one renewal: " + r.get("events") + " " + emu.stats());
        }
    }

    @Test
    void rotationUnderLoadFailsNoCaller() throws Exception {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1))) {
            Path ca = Proof.caFile(emu, tmp);
            Path store = tmp.resolve("store");
            JsonNode r = Proof.runChild(tmp, Proof.childArgs("rotate", emu, ca, store, "threads=8", "refreshes=5"), 120);
            assertEquals(0, r.get("failures").asLong(), "first failure: " + r.get("firstFailure"));
            assertTrue(r.get("calls").asLong() > 50, "callers ran during the rotations: " + r.get("calls"));
            assertEquals(6, emu.stats().certificatesIssued(), "1 cold + 5 forced rotations");
            assertEquals(6, r.get("finalGeneration").asLong());
            assertTrue(r.get("generationsSeen").asInt() >= 2, "callers saw the rotations: " + r.get("generationsSeen"));
            assertTrue(r.get("tokenBindingsSeen").asInt() >= 2, "tokens followed the rotations: " + r.get("tokenBindingsSeen"));
            assertTrue(r.get("keyMatches").asBoolean());
            assertEquals(Proof.storedX5t(store), Proof.runChild(tmp, Proof.childArgs("load", emu, ca, store), 60).get("x5t").asText());
        }
    }
}
