package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a real process ({@code java -cp <test class path> io.msiagent.cli.Main}): exit codes, stdout, stderr. */
class ChildProcessCliTest {
    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.defaults());

    @TempDir
    Path tmp;

    Cli.Result exec(Cli cli, String... args) throws IOException, InterruptedException {
        return exec(List.of(), cli, args);
    }

    Cli.Result exec(List<String> jvmOptions, Cli cli, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("MSI_AGENT_"));
        pb.environment().putAll(cli.env());
        pb.redirectError(tmp.resolve("stderr.txt").toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Cli.Result(p.exitValue(), out, java.nio.file.Files.readString(tmp.resolve("stderr.txt")));
    }

    @Test
    void acquireStatusAndErrorsAsAProcess() throws Exception {
        Path store = tmp.resolve("certs");
        Cli cli = new Cli(EMULATOR.emulator(), store);
        Cli.Result missing = exec(cli, "status", "--json", "--store-dir", store.toString());
        assertEquals(2, missing.code(), missing::toString);
        assertEquals("MISSING", missing.json().get("state").asText());

        Cli.Result acquired = exec(cli, "--store-dir", store.toString(), "--json", "acquire");
        assertEquals(0, acquired.code(), acquired::toString);
        JsonNode j = acquired.json();
        assertEquals("imds", j.get("source").asText());
        assertEquals("", acquired.err(), "nothing on stderr when all is well");

        // token logs on the cache's worker while the main thread starts SLF4J; SLF4J's notice of that
        // (3 lines) once reached stderr in about a third of the runs
        for (int i = 0; i < 6; i++) {
            Cli.Result token = exec(cli, "token", "--resource", "https://management.azure.com", "--store-dir", store.toString());
            assertEquals(0, token.code(), token::toString);
            assertEquals("", token.err(), "nothing on stderr when all is well");
        }

        Cli.Result status = exec(cli, "status", "--store-dir", store.toString());
        assertEquals(0, status.code(), status::toString);
        assertTrue(status.out().contains(j.get("x5tS256").asText()), status.out());

        Cli.Result usage = exec(cli, "acquire", "--client-id", "a", "--resource-id", "b", "--store-dir", store.toString());
        assertEquals(64, usage.code(), usage::toString);
        assertTrue(usage.err().startsWith("error: "), usage.err());

        Cli.Result down = exec(new Cli(null, tmp.resolve("other")), "acquire", "--store-dir", tmp.resolve("other").toString());
        assertEquals(3, down.code(), down::toString);
        assertEquals(1, down.err().lines().count(), down.err());
        assertTrue(down.err().startsWith("error: "), down.err());
    }

    /** As a process, so that anything else writing to the real stdout (the emulator, a library) would show. */
    @Test
    void demoJsonAsAProcessIsOneJsonObjectOnStdout() throws Exception {
        Cli cli = new Cli(null, tmp.resolve("unused"));
        Cli.Result r = exec(cli, "--json", "demo", "--store-dir", tmp.resolve("store").toString());
        assertEquals(0, r.code(), r::toString);
        JsonNode j = DemoAndEmulatorCommandTest.onlyJsonObject(r);
        assertTrue(j.get("ok").asBoolean(), r::toString);
        assertEquals(9, j.get("steps").size(), r::toString);
        j.get("steps").forEach(s -> assertEquals("ok", s.get("result").asText(), r::toString));
        assertEquals("", r.err(), "nothing on stderr when all is well");
    }

    /** A client that offers only TLS 1.0 gets no token from the emulator: step 8 fails, exit 3 (IMDS/network) either way. */
    @Test
    void demoJsonThatFailsAtAStepSaysWhichWithTheSameExitCode() throws Exception {
        Cli cli = new Cli(null, tmp.resolve("unused"));
        List<String> tls10 = List.of("-Djdk.tls.client.protocols=TLSv1");
        Cli.Result text = exec(tls10, cli, "demo");
        assertEquals(ExitCodes.REMOTE_FAILURE, text.code(), text::toString);
        assertTrue(text.out().contains("demo: FAILED at step 8"), text::toString);

        Cli.Result r = exec(tls10, cli, "demo", "--json");
        assertEquals(text.code(), r.code(), r::toString);
        JsonNode j = DemoAndEmulatorCommandTest.onlyJsonObject(r);
        assertFalse(j.get("ok").asBoolean(), r::toString);
        assertEquals(8, j.get("failedStep").asInt(), r::toString);
        String error = j.get("error").asText();
        assertTrue(error.startsWith("Token request for https://management.azure.com failed"), error);
        assertEquals("error: " + error, r.err().strip(), "one error: line, with the same text");
        JsonNode steps = j.get("steps");
        for (int i = 0; i < 7; i++) {
            assertEquals("ok", steps.get(i).get("result").asText(), r::toString);
        }
        assertEquals("failed", steps.get(7).get("result").asText(), r::toString);
        assertTrue(steps.get(7).get("detail").asText().endsWith("FAILED: " + error), r::toString);
        assertEquals("skipped", steps.get(8).get("result").asText(), r::toString);
        assertTrue(j.get("temporaryDirectoryRemoved").asBoolean(), r::toString);
    }

    @Test
    void aMalformedImdsEndpointIsAUsageErrorAlsoForTheAgent() throws Exception {
        Path store = tmp.resolve("certs");
        Cli cli = new Cli(null, store).env("MSI_AGENT_IMDS_ENDPOINT", "ftp://example");
        for (List<String> command : List.of(List.of("acquire"), List.of("renew"), List.of("--json", "run"))) {
            List<String> args = new ArrayList<>(command);
            args.addAll(List.of("--store-dir", store.toString()));
            Cli.Result r = exec(cli, args.toArray(String[]::new));
            assertEquals(64, r.code(), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
            assertTrue(r.err().startsWith("error: IMDS endpoint is not an http(s) URL: 'ftp://example'"), r::toString);
            assertTrue(!r.out().contains("STOPPING") && !r.out().contains("SIGTERM"), "no signal is claimed: " + r.out());
        }
    }

    @Test
    void aWorldWritableParentIsWarnedOncePerRunNotAtEachReadAndSave() throws Exception {
        Path shared = java.nio.file.Files.createDirectory(tmp.resolve("shared"));
        java.nio.file.Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path store = shared.resolve("certs");
        Cli cli = new Cli(EMULATOR.emulator(), store);
        // a cold acquire peeks, loads under the lock and saves; renew loads and saves; a warm acquire peeks
        for (String command : List.of("acquire", "renew", "acquire")) {
            Cli.Result r = exec(cli, command, "--store-dir", store.toString());
            assertEquals(0, r.code(), r::toString);
            assertEquals(List.of("warning: " + shared + ": parent directory is world-writable (mode 0777): other users can create"
                    + " or rename entries next to the store"), r.err().lines().toList(), r::toString);
        }
        Cli.Result verbose = exec(cli, "acquire", "-v", "--store-dir", store.toString());
        assertEquals(1, verbose.err().lines().filter(l -> l.contains(shared + ": parent directory is world-writable")).count(),
                verbose::toString);

        // A sticky one (/tmp, where a store made by mktemp -d lives) is no risk: others can neither rename nor remove
        // the store; nothing on stderr, for acquire as for status (doctor still mentions it).
        Path sticky = java.nio.file.Files.createDirectory(tmp.resolve("sticky"));
        java.nio.file.Files.setAttribute(sticky, "unix:mode", 01777);
        Path inSticky = sticky.resolve("certs");
        Cli stickyCli = new Cli(EMULATOR.emulator(), inSticky);
        for (String command : List.of("acquire", "status", "acquire")) {
            Cli.Result r = exec(stickyCli, command, "--store-dir", inSticky.toString());
            assertEquals(0, r.code(), r::toString);
            assertEquals("", r.err(), r::toString);
        }
    }

    /** The store's repair of a key file's too-open mode is for the user to see, without -v too. */
    @Test
    void aRepairedModeIsAWarningOnStderr() throws Exception {
        Path store = tmp.resolve("certs");
        Cli cli = new Cli(EMULATOR.emulator(), store);
        assertEquals(0, exec(cli, "acquire", "--store-dir", store.toString()).code());
        Path pem = store.resolve("msal_mtls.pem");
        java.nio.file.Files.setPosixFilePermissions(pem, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Cli.Result r = exec(cli, "--json", "acquire", "--store-dir", store.toString());
        assertEquals(0, r.code(), r::toString);
        assertEquals("store", r.json().get("source").asText());
        assertEquals(List.of("warning: " + pem + ": repaired mode 0644 to 0600"), r.err().lines().toList(), r::toString);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(pem)));
    }
}
