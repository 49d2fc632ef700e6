package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code demo} end to end, and the {@code emulator} command's option handling. */
class DemoAndEmulatorCommandTest {
    @TempDir
    Path tmp;

    /** A credential stored against one run must stay known to the token endpoint of the next (its tenant, its client id). */
    @Test
    void aCaKeptInCaDirKeepsItsTenantAndSystemAssignedIdentityAcrossRuns() {
        EmulatorCommand cmd = new EmulatorCommand();
        cmd.caDir = tmp.resolve("ca");
        io.msiagent.cli.emulator.EmulatorConfig first = cmd.config(io.msiagent.cli.emulator.EmulatorCa.loadOrCreate(cmd.caDir,
                java.time.Clock.systemUTC()));
        io.msiagent.cli.emulator.EmulatorConfig next = cmd.config(io.msiagent.cli.emulator.EmulatorCa.loadOrCreate(cmd.caDir,
                java.time.Clock.systemUTC()));
        assertEquals(first.tenantId(), next.tenantId());
        assertEquals(first.systemAssigned(), next.systemAssigned());

        EmulatorCommand other = new EmulatorCommand();
        other.caDir = tmp.resolve("other-ca");
        io.msiagent.cli.emulator.EmulatorConfig elsewhere = other.config(io.msiagent.cli.emulator.EmulatorCa.loadOrCreate(other.caDir,
                java.time.Clock.systemUTC()));
        assertNotEquals(first.tenantId(), elsewhere.tenantId(), "another CA, another tenant");
        assertNotEquals(first.systemAssigned().clientId(), elsewhere.systemAssigned().clientId());
        assertNotEquals(new EmulatorCommand().config(null).tenantId(), new EmulatorCommand().config(null).tenantId(),
                "without --ca-dir every run is new");
    }

    @Test
    void demoWithoutAUsableTemporaryDirectorySaysWhyAndIsAStoreFailure() {
        String tmpdir = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.resolve("missing").toString());
        try {
            Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly("demo");
            assertEquals(ExitCodes.STORE_FAILURE, r.code(), r::toString);
            assertTrue(r.err().contains("cannot create the demo's temporary store directory") && r.err().contains("no such directory"),
                    r.err());
        } finally {
            System.setProperty("java.io.tmpdir", tmpdir);
        }
    }

    @Test
    void demoRunsEveryStepAndLeavesNothingBehind() {
        Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly("demo");
        assertEquals(0, r.code(), r::toString);
        String out = r.out();
        for (int step = 1; step <= 9; step++) {
            assertTrue(out.contains("[" + step + "/9] "), "step " + step + "\n" + out);
        }
        assertTrue(out.contains("Platform metadata") && out.contains("Key, CSR and issuance") && out.contains("Validation")
                && out.contains("Persistence") && out.contains("Forced renewal") && out.contains("mTLS token"), out);
        assertTrue(out.contains("-rw------- ") && out.contains("msal_mtls.pem"), out);
        assertTrue(out.contains("0 new calls"), out);
        assertTrue(out.contains("matches the credential"), out);
        assertTrue(out.contains("demo: OK"), out);
        assertFalse(out.contains("PRIVATE KEY") || out.contains("eyJhbGci") || out.contains("eyJ0eXAi"), "no key and no token in the narration");
        Matcher m = Pattern.compile("removed (\\S+);").matcher(out);
        assertTrue(m.find(), out);
        assertFalse(Files.exists(Path.of(m.group(1))), "the temporary directory is gone");
    }

    /** Stdout as exactly one JSON object on one line: trailing content (a second object, narration) fails. */
    static com.fasterxml.jackson.databind.JsonNode onlyJsonObject(Cli.Result r) throws Exception {
        assertEquals(1, r.out().lines().count(), () -> "one line on stdout: " + r);
        com.fasterxml.jackson.databind.JsonNode j = Cli.JSON.reader()
                .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(r.out());
        assertTrue(j != null && j.isObject(), r::toString);
        return j;
    }

    @Test
    void demoWithJsonPrintsOneJsonObjectBeforeOrAfterTheCommand() throws Exception {
        for (String[] args : List.of(new String[] {"demo", "--json"}, new String[] {"--json", "demo"})) {
            Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly(args);
            assertEquals(0, r.code(), r::toString);
            JsonNode j = onlyJsonObject(r);
            assertTrue(j.get("ok").asBoolean(), r::toString);
            assertTrue(j.get("error").isNull(), r::toString);
            assertTrue(j.get("failedStep").isNull(), r::toString);
            JsonNode steps = j.get("steps");
            assertEquals(9, steps.size(), r::toString);
            for (int i = 0; i < 9; i++) {
                JsonNode s = steps.get(i);
                assertEquals(i + 1, s.get("step").asInt(), r::toString);
                assertEquals("ok", s.get("result").asText(), r::toString);
                assertFalse(s.get("name").asText().isBlank(), r::toString);
                assertFalse(s.get("detail").asText().isBlank(), r::toString);
            }
            assertEquals("Persistence", steps.get(4).get("name").asText());
            assertTrue(steps.get(4).get("detail").asText().contains("-rw------- "), r::toString);
            assertTrue(steps.get(5).get("detail").asText().contains("0 new calls"), r::toString);
            assertTrue(steps.get(7).get("detail").asText().contains("matches the credential"), r::toString);
            assertTrue(steps.get(8).get("detail").asText().contains(j.get("x5tS256").asText()), "the status table shows the renewed one");
            assertTrue(j.get("x5tS256").asText().matches("[A-Za-z0-9_-]{43}"), r::toString);
            assertEquals(2, j.get("generation").asInt(), r::toString);
            assertEquals("mtls_pop", j.get("tokenType").asText(), r::toString);
            assertEquals(2, j.get("certificatesIssued").asInt(), r::toString);
            Path temporary = Path.of(j.get("temporaryDirectory").asText());
            assertEquals(temporary.resolve("certs").toString(), j.get("store").asText());
            assertTrue(j.get("temporaryDirectoryRemoved").asBoolean(), r::toString);
            assertFalse(Files.exists(temporary), "the temporary directory is gone");
            assertTrue(j.get("credentialLeft").isNull(), r::toString);
            assertFalse(r.out().contains("PRIVATE KEY") || r.out().contains("eyJ"), "no key and no token in the JSON");
            assertEquals("", r.err(), r::toString);
        }
    }

    @Test
    void demoWithJsonInTheGivenStoreSaysWhatItLeft() throws Exception {
        Path store = tmp.resolve("given").resolve("certs");
        Cli cli = new Cli(null, store);
        Cli.Result r = cli.run("demo", "--json");
        assertEquals(0, r.code(), r::toString);
        JsonNode j = onlyJsonObject(r);
        assertTrue(j.get("ok").asBoolean(), r::toString);
        assertEquals(store.toString(), j.get("store").asText());
        assertEquals(store.resolve("msal_mtls.pem").toString(), j.get("credentialLeft").asText());
        assertTrue(j.get("temporaryDirectory").isNull() && j.get("temporaryDirectoryRemoved").isNull(), r::toString);
        try (var files = Files.list(store)) {
            java.util.Set<String> left = new java.util.HashSet<>();
            j.get("filesLeft").forEach(f -> left.add(f.asText()));
            assertEquals(files.map(f -> f.getFileName().toString()).collect(java.util.stream.Collectors.toSet()), left);
        }
        Cli.Result status = cli.run("status", "--json");
        assertEquals(j.get("x5tS256").asText(), status.json().get("x5tS256").asText(), "the JSON names the credential left");
        assertEquals(j.get("notAfter").asText(), status.json().get("notAfter").asText());

        Cli.Result refused = cli.run("--json", "demo");
        assertEquals(64, refused.code(), "a usage error, as without --json");
        assertEquals("", refused.out(), "usage errors print no JSON, as for every command");
        assertTrue(refused.err().startsWith("error: "), refused::toString);
    }

    @Test
    void demoWithJsonThatFailsSaysSoWithTheSameExitCodeAndErrorLine() throws Exception {
        String tmpdir = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.resolve("missing").toString());
        try {
            Cli.Result text = new Cli(null, tmp.resolve("unused")).runExactly("demo");
            Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly("demo", "--json");
            assertEquals(ExitCodes.STORE_FAILURE, r.code(), r::toString);
            assertEquals(text.code(), r.code());
            JsonNode j = onlyJsonObject(r);
            assertFalse(j.get("ok").asBoolean(), r::toString);
            String error = j.get("error").asText();
            assertTrue(error.contains("cannot create the demo's temporary store directory") && error.contains("no such directory"), error);
            assertEquals("error: " + error, r.err().strip(), "the error: line stays, with the same text");
            assertEquals(text.err(), r.err());
            assertEquals(9, j.get("steps").size());
            j.get("steps").forEach(s -> assertEquals("skipped", s.get("result").asText(), r::toString));
            assertTrue(j.get("failedStep").isNull() && j.get("x5tS256").isNull(), r::toString);
        } finally {
            System.setProperty("java.io.tmpdir", tmpdir);
        }
    }

    @Test
    void demoKeepsItsDirectoryWhenAsked() throws Exception {
        Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly("demo", "--keep", "--cert-lifetime", "1h");
        assertEquals(0, r.code(), r::toString);
        Matcher m = Pattern.compile("Kept (\\S+) ").matcher(r.out());
        assertTrue(m.find(), r.out());
        Path kept = Path.of(m.group(1));
        assertTrue(Files.exists(kept.resolve("certs").resolve("msal_mtls.pem")));
        try (var walk = Files.walk(kept)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void demoUsesTheGivenStoreDirectoryAndLeavesTheCredentialThere() throws Exception {
        Path store = tmp.resolve("given").resolve("certs");
        Cli cli = new Cli(null, store);
        Cli.Result r = cli.run("demo");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains(store.resolve("msal_mtls.pem").toString()), r.out());
        Path pem = store.resolve("msal_mtls.pem");
        assertTrue(Files.exists(pem), "the credential stays in " + store);
        String left = r.out().lines().filter(l -> l.startsWith("Files the demo left in " + store + ": ")).findFirst()
                .orElseThrow(() -> new AssertionError("the demo does not say what it left: " + r.out()));
        try (var files = Files.list(store)) {
            files.forEach(f -> assertTrue(left.contains(f.getFileName().toString()), "the demo left " + f + " and did not say so: " + left));
        }
        Cli.Result status = cli.run("status", "--json");
        assertEquals(0, status.code(), status::toString);
        assertEquals(pem.toString(), status.json().get("store").asText());
        assertEquals(CredentialCommandsTest.certificateIn(pem).getNotAfter().toInstant().toString(),
                status.json().get("notAfter").asText(), "status sees the demo's credential");

        byte[] before = Files.readAllBytes(pem);
        Cli.Result again = cli.run("demo");
        assertEquals(64, again.code(), again::toString);
        assertTrue(again.err().startsWith("error: ") && again.err().contains(store.toString()), again.err());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(pem)), "a stored credential is never replaced by the demo's");
    }

    @Test
    void demoNamesAnotherVersionsEntryAndLeavesItAlone() throws Exception {
        Path store = tmp.resolve("shared").resolve("certs");
        Cli cli = new Cli(null, store);
        assertEquals(0, cli.run("demo").code());
        Path json = store.resolve("msal_mtls.json");
        String newer = Files.readString(json).replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        Files.writeString(json, newer);

        Cli.Result r = cli.run("demo");
        assertEquals(64, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: ") && r.err().contains("another msi-agent version's entry"), r.err());
        assertFalse(r.err().contains("clear"), "no advice to remove another version's credential: " + r.err());
        assertEquals(newer, Files.readString(json));
    }

    @Test
    void demoUsesTheStoreDirectoryOfTheEnvironment() {
        Path store = tmp.resolve("from-env");
        Cli.Result r = new Cli(null, tmp.resolve("unused")).env("MSI_AGENT_STORE_DIR", store.toString()).runExactly("demo");
        assertEquals(0, r.code(), r::toString);
        assertTrue(Files.exists(store.resolve("msal_mtls.pem")), r.out());
    }

    @Test
    void demoRefusesABadCertLifetimeBeforeItStarts() {
        for (List<String> json : List.of(List.<String>of(), List.of("--json"))) { // a usage error prints no JSON
            List<String> args = new java.util.ArrayList<>(List.of("demo", "--cert-lifetime", "5s"));
            args.addAll(json);
            Cli.Result r = new Cli(null, tmp.resolve("unused")).runExactly(args.toArray(String[]::new));
            assertEquals(64, r.code(), r::toString);
            assertEquals("", r.out(), "nothing started, nothing to clean up");
            assertEquals(1, r.err().lines().count(), r::toString);
        }
    }

    @Test
    void demoHelpStatesWhereItsStoreIs() {
        Cli.Result help = new Cli(null, tmp.resolve("unused")).runExactly("demo", "--help");
        assertEquals(0, help.code(), help::toString);
        String text = help.out().replaceAll("\\s+", " ");
        assertTrue(text.contains("Store: --store-dir (or MSI_AGENT_STORE_DIR) when given")
                && text.contains("default: a temporary directory"), help.out());
    }

    @Test
    void emulatorPrintCaPrintsAPersistentCaAndExits() throws Exception {
        Path caDir = tmp.resolve("ca");
        Cli cli = new Cli(null, tmp.resolve("unused"));
        Cli.Result first = cli.runExactly("emulator", "--ca-dir", caDir.toString(), "--print-ca");
        assertEquals(0, first.code(), first::toString);
        X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(first.out().getBytes(StandardCharsets.US_ASCII)));
        assertTrue(ca.getBasicConstraints() >= 0, "a CA certificate");
        assertEquals(first.out(), cli.runExactly("emulator", "--ca-dir", caDir.toString(), "--print-ca").out(), "the same CA next time");
    }

    @Test
    void emulatorRejectsBadSpecs() throws Exception {
        Cli cli = new Cli(null, tmp.resolve("unused"));
        Cli.Result fault = cli.runExactly("emulator", "--fault", "kind=teapot");
        assertEquals(64, fault.code(), fault::toString);
        assertTrue(fault.err().contains("teapot"), fault.err());
        assertEquals(64, cli.runExactly("emulator", "--cert-lifetime", "5s").code(), "below the 10 s floor");
        assertEquals(64, cli.runExactly("emulator", "--cert-lifetime", "soon").code());
        java.nio.file.Path halfCa = java.nio.file.Files.createDirectories(tmp.resolve("half-ca"));
        java.nio.file.Files.writeString(halfCa.resolve("ca.pem"), "no key beside it");
        Cli.Result badCa = cli.runExactly("emulator", "--ca-dir", halfCa.toString(), "--print-ca");
        assertEquals(64, badCa.code(), badCa::toString);
        assertTrue(badCa.err().startsWith("error: --ca-dir " + halfCa), badCa.err());
    }
}
