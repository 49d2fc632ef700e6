package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** doctor against the emulator: PASS/WARN/FAIL lines, the JSON array, and the exit code. */
class DoctorTest {
    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.defaults());

    @TempDir
    Path tmp;

    static Map<String, String> byCheck(JsonNode array) {
        Map<String, String> m = new HashMap<>();
        array.forEach(c -> m.put(c.get("check").asText(), c.get("result").asText()));
        return m;
    }

    @Test
    void healthyMachineHasNoFailure() {
        Cli cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Cli.Result r = cli.run("doctor");
        assertEquals(0, r.code(), r::toString);
        for (String line : r.out().lines().toList()) {
            assertTrue(line.matches("(PASS|WARN|FAIL) [a-z0-9-]+: .+"), line);
        }
        Cli.Result json = cli.run("doctor", "--json");
        assertEquals(0, json.code(), json::toString);
        Map<String, String> results = byCheck(json.json());
        assertEquals("PASS", results.get("imds-reachable"));
        assertEquals("PASS", results.get("imds-v2"));
        assertEquals("PASS", results.get("clock-skew"));
        assertEquals("PASS", results.get("store-permissions"));
        assertEquals("PASS", results.get("store-lock"));
        assertEquals("PASS", results.get("store-temp-files"));
        assertEquals("PASS", results.get("credential"));
        assertEquals("PASS", results.get("token-endpoint"), json.out());
        assertTrue(results.containsKey("proxy") && results.containsKey("key-protection") && results.containsKey("attestation"));
    }

    @Test
    void aStaleTempFileIsAWarning() throws Exception {
        Cli cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Path stale = cli.storeDir().resolve(".msal_mtls.pem.tmp-0123abcd");
        Files.write(stale, new byte[0]);
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        Cli.Result r = cli.run("doctor", "--json");
        assertEquals(0, r.code(), r::toString);
        assertEquals("WARN", byCheck(r.json()).get("store-temp-files"), r.out());
    }

    @Test
    void anEntryThisVersionCannotReadFailsWithAdviceThatFitsIt() throws Exception {
        Cli cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Path json = cli.storeDir().resolve("msal_mtls.json");
        String stored = Files.readString(json);
        String newer = stored.replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        Files.writeString(json, newer);
        Cli.Result r = cli.run("doctor");
        assertEquals(1, r.code(), r::toString);
        String line = r.out().lines().filter(l -> l.startsWith("FAIL credential: ")).findFirst().orElseThrow(() -> new AssertionError(r));
        assertTrue(line.contains("another msi-agent version's entry") && !line.contains("quarantines"), line);
        assertEquals(newer, Files.readString(json), "doctor changes nothing");

        // A corrupt entry of this version is one the next acquire replaces, and doctor says so.
        Files.writeString(json, stored.replace("\"formatVersion\" : 1", "\"formatVersion\" : \"one\""));
        Cli.Result corrupt = cli.run("doctor");
        String corruptLine = corrupt.out().lines().filter(l -> l.startsWith("FAIL credential: ")).findFirst().orElseThrow(() -> new AssertionError(corrupt));
        assertTrue(corruptLine.contains("acquire quarantines it") && !corruptLine.contains("another msi-agent version"), corruptLine);
    }

    @Test
    void permissionWarningsSayWhatRepairsThem() throws Exception {
        Path parent = Files.createDirectory(tmp.resolve("parent"));
        Cli cli = new Cli(EMULATOR.emulator(), parent.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Path pem = cli.storeDir().resolve("msal_mtls.pem");
        Files.setPosixFilePermissions(pem, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(parent, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));

        String line = cli.run("doctor").out().lines().filter(l -> l.startsWith("WARN store-permissions: ")).findFirst().orElseThrow();
        assertTrue(line.contains(pem + ": mode 0644") && line.contains("(repaired by the next acquire, token or agent start)"), line);
        assertTrue(line.contains(parent + ": parent directory is world-writable") && line.contains("msi-agent never changes it"), line);

        Path quarantined = Files.writeString(cli.storeDir().resolve("msal_mtls.pem.corrupt-20261122T000000Z"), "x");
        Files.setPosixFilePermissions(quarantined, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        String withQuarantined = cli.run("doctor").out().lines().filter(l -> l.contains(" store-permissions: ")).findFirst().orElseThrow();
        assertTrue(withQuarantined.contains(quarantined + ": mode 0644 gives group/other access; must be 0600 (a quarantined file, never repaired"),
                withQuarantined);
        Files.delete(quarantined);
        Path backup = Files.writeString(cli.storeDir().resolve("msal_mtls.pem.bak"), "x");
        Files.setPosixFilePermissions(backup, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        String withBackup = cli.run("doctor").out().lines().filter(l -> l.contains(" store-permissions: ")).findFirst().orElseThrow();
        assertTrue(withBackup.contains(backup + ": mode 0644 gives group/other access; must be 0600 (not one msi-agent repairs"), withBackup);
        Files.delete(backup);

        assertEquals(0, cli.run("acquire").code());
        String after = cli.run("doctor").out().lines().filter(l -> l.contains(" store-permissions: ")).findFirst().orElseThrow();
        assertTrue(after.startsWith("WARN") && !after.contains(pem.toString()) && after.contains("msi-agent never changes it"),
                "the mode was repaired as said, the parent was not touched: " + after);
    }

    @Test
    void doctorWritesNothingInTheStore() throws Exception {
        Cli cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Path dir = cli.storeDir();
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Map<Path, String> before = snapshot(dir);
        Cli.Result r = cli.run("doctor", "--json");
        assertEquals("PASS", byCheck(r.json()).get("store-lock"), r.out());
        assertEquals("WARN", byCheck(r.json()).get("store-permissions"), r.out());
        assertEquals(before, snapshot(dir), "modes, sizes and times of the directory and every file are as they were");
    }

    private static Map<Path, String> snapshot(Path dir) throws Exception {
        Map<Path, String> m = new HashMap<>();
        try (var files = Files.walk(dir)) {
            for (Path p : files.toList()) {
                m.put(p, java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)) + " "
                        + Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis());
            }
        }
        return m;
    }

    @Test
    void unreachableImdsAndASymlinkedStoreFail() throws Exception {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("certs"), real);
        Cli.Result r = new Cli(null, link).run("doctor", "--json");
        assertEquals(1, r.code(), r::toString);
        Map<String, String> results = byCheck(r.json());
        assertEquals("FAIL", results.get("imds-reachable"));
        assertEquals("FAIL", results.get("store-permissions"), r.out());
        String credential = detail(r.json(), "credential");
        assertTrue(credential.contains("acquire refuses the store") && !credential.contains("quarantines"),
                "acquire exits 4 on such a store, it quarantines nothing: " + credential);
    }

    /** An ordinary user (a child JVM through setpriv) whose store would go under a directory it cannot write. */
    @Test
    void aStoreDirectoryThatCannotBeCreatedFails() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.msiagent.store.linux.PrivatePaths.currentUid() == 0
                && Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs root and setpriv to run the child as an ordinary user");
        Path rootOnly = Files.createTempDirectory(Path.of("/tmp"), "msi-agent-doctor-");
        try {
            Files.setPosixFilePermissions(rootOnly, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Path store = rootOnly.resolve("home/certs");
            // the dependency jars sit under root's home, which the ordinary user cannot read: copies go beside the store
            Path jars = Files.createDirectory(rootOnly.resolve("jars"));
            List<String> classPath = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path e = Path.of(entry);
                if (Files.isRegularFile(e)) {
                    e = Files.copy(e, jars.resolve(classPath.size() + "-" + e.getFileName()));
                }
                classPath.add(e.toString());
            }
            Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", String.join(java.io.File.pathSeparator, classPath),
                    Main.class.getName(), "doctor", "--json", "--store-dir", store.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out);
            String detail = detail(Cli.JSON.readTree(out), "store-permissions");
            assertTrue(detail.startsWith("FAIL ") && detail.contains("cannot be created: " + rootOnly + " is not writable by this user"),
                    detail);
        } finally {
            try (var all = Files.walk(rootOnly)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
            }
        }
    }

    private static String detail(JsonNode array, String check) {
        for (JsonNode c : array) {
            if (c.get("check").asText().equals(check)) {
                return c.get("result").asText() + " " + c.get("detail").asText();
            }
        }
        throw new AssertionError("no " + check + " in " + array);
    }

    @Test
    void proxyWithoutNoProxyIsAWarning() {
        Properties none = new Properties();
        assertEquals("WARN", ProxyCheck.check(Map.of("HTTPS_PROXY", "http://proxy:3128"), none).result());
        assertEquals("PASS", ProxyCheck.check(Map.of("HTTPS_PROXY", "http://proxy:3128", "NO_PROXY", "localhost,169.254.169.254"), none)
                .result());
        Properties java = new Properties();
        java.setProperty("http.proxyHost", "proxy");
        assertEquals("WARN", ProxyCheck.check(Map.of(), java).result());
        java.setProperty("http.nonProxyHosts", "localhost|169.254.*");
        assertEquals("PASS", ProxyCheck.check(Map.of(), java).result());
    }
}
