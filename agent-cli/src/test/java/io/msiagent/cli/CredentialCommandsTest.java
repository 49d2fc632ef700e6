package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatedIdentity;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.Fault;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.TestCredentials;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.store.linux.PrivatePaths;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** acquire, status, renew, clear and token, in-process against the emulator, in a temporary store. */
class CredentialCommandsTest {
    static final EmulatedIdentity USER = EmulatedIdentity.randomUserAssigned("cli-test");

    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.builder()
            .certLifetime(Duration.ofHours(1)).addUserAssigned(USER).build());

    @TempDir
    Path tmp;
    ImdsEmulator emu;
    Cli cli;

    @BeforeEach
    void setUp() {
        emu = EMULATOR.emulator();
        cli = new Cli(emu, tmp.resolve("certs"));
    }

    long imdsCalls() {
        var s = emu.stats();
        return s.calls(EmulatorPath.PLATFORM_METADATA) + s.calls(EmulatorPath.ISSUE_CREDENTIAL);
    }

    /**
     * Another process renewing (it holds the store's lock, for seconds at worst) does not hold up a
     * command that finds a usable credential on disk: the store is peeked at without the lock.
     */
    @Test
    void acquireServesTheStoredCredentialWhileTheStoreLockIsHeldElsewhere() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(cli.storeDir()).build();
        ExecutorService holder = Executors.newSingleThreadExecutor();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        holder.submit(() -> {
            try (StoreLock lock = store.lock(ManagedIdentityId.systemAssigned(), Duration.ofSeconds(5))) {
                held.countDown();
                release.await();
            }
            return null;
        });
        try {
            assertTrue(held.await(10, TimeUnit.SECONDS));
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> cli.run("--json", "acquire"),
                    "acquire waited for the lock (30 s) although the stored credential was usable");
            assertEquals(0, r.code(), r::toString);
            assertEquals("store", r.json().get("source").asText());
            // nor when the .pfx asked for is missing: it is written when the lock is free, not waited for
            Cli.Result withPfx = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> cli.run("--json", "acquire", "--pkcs12"),
                    "acquire --pkcs12 waited for the lock to write the missing .pfx");
            assertEquals(0, withPfx.code(), withPfx::toString);
            assertEquals("store", withPfx.json().get("source").asText());
        } finally {
            release.countDown();
            holder.shutdown();
        }
    }

    @Test
    void acquireIssuesThenServesFromTheStore() throws Exception {
        Cli.Result first = cli.run("--json", "acquire");
        assertEquals(0, first.code(), first::toString);
        JsonNode j = first.json();
        assertEquals("system", j.get("identity").asText());
        assertEquals("FRESH", j.get("state").asText());
        assertEquals("imds", j.get("source").asText());
        assertEquals(emu.systemAssigned().clientId(), j.get("clientId").asText());
        assertEquals(emu.tenantId(), j.get("tenantId").asText());
        assertEquals("SOFTWARE", j.get("keyProtection").asText());
        assertFalse(j.get("attested").asBoolean());
        assertEquals(emu.tokenEndpoint(), j.get("tokenEndpoint").asText());
        Path pem = cli.storeDir().resolve("msal_mtls.pem");
        assertEquals(pem.toString(), j.get("store").asText());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pem)));

        X509Certificate cert = certificateIn(pem);
        Process openssl = new ProcessBuilder("openssl", "x509", "-noout", "-serial", "-in", pem.toString()).start();
        String serialLine = new String(openssl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
        assertEquals(0, openssl.waitFor());
        assertEquals(serialLine.substring("serial=".length()).toLowerCase(java.util.Locale.ROOT), j.get("serialNumber").asText(),
                "serialNumber is what openssl prints, lower-cased");
        assertTrue(j.get("serialNumber").asText().matches("[0-9a-f]+"));
        String x5t = Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        assertEquals(x5t, j.get("x5tS256").asText());
        assertEquals(cert.getSubjectX500Principal().getName(), j.get("subject").asText());
        assertEquals(cert.getIssuerX500Principal().getName(), j.get("issuer").asText());
        assertEquals(cert.getNotAfter().toInstant(), Instant.parse(j.get("notAfter").asText()));
        assertEquals(cert.getNotBefore().toInstant(), Instant.parse(j.get("notBefore").asText()));
        Instant renewAt = Instant.parse(j.get("renewAt").asText());
        assertTrue(renewAt.isAfter(cert.getNotBefore().toInstant()) && renewAt.isBefore(cert.getNotAfter().toInstant()));

        long calls = imdsCalls();
        Cli.Result second = cli.run("acquire", "--json");
        assertEquals(0, second.code(), second::toString);
        assertEquals("store", second.json().get("source").asText());
        assertEquals(x5t, second.json().get("x5tS256").asText());
        assertEquals(calls, imdsCalls(), "served from the store without IMDS");

        String audit = Files.readString(cli.storeDir().resolve("audit.log"));
        assertTrue(audit.contains("\"event\":\"issued\"") && audit.contains(x5t), audit);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cli.storeDir().resolve("audit.log"))));
        assertFalse(audit.contains("PRIVATE KEY"));
    }

    @Test
    void acquireRenewAndTokenOnAnotherVersionsEntryIssueNothingAndExit4() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        // Another msi-agent version, newer, now keeps the entry: this one neither reads nor replaces it.
        Path json = cli.storeDir().resolve("msal_mtls.json");
        String newer = Files.readString(json).replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        Files.writeString(json, newer);
        long calls = imdsCalls();
        for (List<String> command : List.of(List.of("acquire"), List.of("renew"), List.of("token", "--resource", "https://x"))) {
            List<String> args = new java.util.ArrayList<>(List.of("--json"));
            args.addAll(command);
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(4, r.code(), r::toString);
            assertTrue(r.err().startsWith("error: ") && r.err().contains("another msi-agent version")
                    && r.err().contains("nothing was issued"), r::toString);
            assertEquals("", r.out(), "no credential to report");
        }
        assertEquals(calls, imdsCalls(), "a certificate this process could neither store nor keep is not asked for");
        assertEquals(newer, Files.readString(json), "the newer version's entry is as it left it");
        assertEquals(2, cli.run("status").code(), "INVALID for this version");
    }

    @Test
    void acquireAndRenewOfACredentialTheStoreRefusesPrintItAndExit4() throws Exception {
        assumeTrue(PrivatePaths.currentUid() == 0, "chattr +i needs root");
        assertEquals(0, cli.run("acquire").code());
        Path dir = cli.storeDir();
        Files.delete(dir.resolve("msal_mtls.pem"));
        Files.delete(dir.resolve("msal_mtls.json"));
        assumeTrue(run("chattr", "+i", dir.toString()) == 0, "a file system with the immutable attribute");
        try {
            for (String command : List.of("acquire", "renew")) {
                Cli.Result r = cli.run("--json", command);
                assertEquals(4, r.code(), r::toString);
                assertEquals("imds", r.json().get("source").asText(), r::toString);
                assertTrue(r.json().get("reason").asText().startsWith("not persisted: "), r::toString);
                assertTrue(r.err().startsWith("error: the credential issued by IMDS") && r.err().contains("could not be stored"), r::toString);
            }
        } finally {
            assertEquals(0, run("chattr", "-i", dir.toString()));
        }
        assertFalse(Files.exists(dir.resolve("msal_mtls.pem")), "nothing was written");
        String audit = Files.readString(dir.resolve("audit.log"));
        assertTrue(audit.contains("\"outcome\":\"failure\""), audit);
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    @Test
    void pkcs12KeepsAPfxBesideThePemThatKeytoolReads() throws Exception {
        Path pfx = cli.storeDir().resolve("msal_mtls.pfx");
        assertEquals(0, cli.run("acquire").code());
        assertFalse(Files.exists(pfx), "PEM only by default");
        Cli.Result r = cli.run("--json", "renew", "--pkcs12");
        assertEquals(0, r.code(), r::toString);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pfx)));
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-list", "-v",
                "-storetype", "PKCS12", "-keystore", pfx.toString(), "-storepass", "").redirectErrorStream(true).start();
        String listing = new String(keytool.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, keytool.waitFor(), listing);
        assertTrue(listing.contains("PrivateKeyEntry"), listing);
        String sha256 = java.util.HexFormat.ofDelimiter(":").withUpperCase().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(certificateIn(cli.storeDir().resolve("msal_mtls.pem")).getEncoded()));
        assertTrue(listing.contains(sha256), "the .pfx holds the renewed certificate: " + listing);

        Files.delete(pfx);
        assertEquals(0, cli.env("MSI_AGENT_PKCS12", "1").run("renew").code());
        assertTrue(Files.exists(pfx), "MSI_AGENT_PKCS12=1 does the same");
    }

    @Test
    void pkcs12TurnedOnForAStoredCredentialWritesThePfxAtOnceWithoutAnIssuance() throws Exception {
        Path pfx = cli.storeDir().resolve("msal_mtls.pfx");
        assertEquals(0, cli.run("acquire").code());
        long calls = imdsCalls();
        Cli.Result r = cli.run("--json", "acquire", "--pkcs12");
        assertEquals(0, r.code(), r::toString);
        assertEquals("store", r.json().get("source").asText());
        assertEquals(calls, imdsCalls(), "the stored credential is written as PKCS#12, not renewed");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pfx)));
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(pfx)) {
            ks.load(in, new char[0]);
        }
        assertEquals(certificateIn(cli.storeDir().resolve("msal_mtls.pem")), ks.getCertificate("msal_mtls"));
    }

    @Test
    void tokenAuditsTheIssuanceItMade() throws Exception {
        Cli.Result r = cli.run("--json", "token", "--resource", "https://management.azure.com");
        assertEquals(0, r.code(), r::toString);
        String audit = Files.readString(cli.storeDir().resolve("audit.log"));
        assertTrue(audit.contains("\"event\":\"issued\"") && audit.contains("\"trigger\":\"token\"")
                && audit.contains(r.json().get("x5tS256").asText()), audit);
        assertEquals(0, cli.run("token", "--resource", "https://management.azure.com").code());
        assertEquals(audit, Files.readString(cli.storeDir().resolve("audit.log")), "served from the store: nothing issued, nothing audited");
    }

    @Test
    void anEmptyStoreDirIsAUsageError() {
        Cli.Result r = cli.runExactly("acquire", "--store-dir", "");
        assertEquals(64, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: --store-dir is empty"), r.err());
    }

    @Test
    void aCertificateThatFailsValidationIsExit3AndNamesTheCall() {
        emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 50, Fault.certificateForOtherKey());
        Cli.Result r = cli.run("acquire");
        assertEquals(3, r.code(), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertTrue(r.err().startsWith("error: ") && r.err().contains("different public key")
                && r.err().contains("issuecredential HTTP 200, x-ms-client-request-id ") && r.err().contains("x-ms-request-id "), r.err());
    }

    @Test
    void statusAndAcquireAgreeOnASymlinkedPfx() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        Path victim = Files.writeString(tmp.resolve("victim.pfx"), "not ours");
        Files.createSymbolicLink(cli.storeDir().resolve("msal_mtls.pfx"), victim);
        for (String command : List.of("status", "acquire")) {
            Cli.Result r = cli.run(command);
            assertEquals(4, r.code(), command + ": " + r);
            assertTrue(r.err().contains("msal_mtls.pfx") && r.err().contains("symbolic link"), r.err());
        }
    }

    @Test
    void textOutputAndGlobalOptionsOnEitherSide() {
        Cli.Result r = cli.runExactly("--store-dir", cli.storeDir().toString(), "acquire");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("state:") && r.out().contains("FRESH"), r.out());
        assertTrue(r.out().contains("x5tS256:"), r.out());
        assertFalse(r.out().contains("PRIVATE KEY"));
        Cli.Result s = cli.runExactly("status", "--json", "--store-dir", cli.storeDir().toString());
        assertEquals(0, s.code(), s::toString);
        assertEquals("FRESH", s.json().get("state").asText());
    }

    @Test
    void statusWarnsOfATooOpenKeyFileAndLeavesItAsItIs() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        Path pem = cli.storeDir().resolve("msal_mtls.pem");
        Files.setPosixFilePermissions(pem, PosixFilePermissions.fromString("rw-r--r--"));
        Cli.Result r = cli.run("--json", "status");
        assertEquals(0, r.code(), r::toString);
        assertEquals("FRESH", r.json().get("state").asText());
        assertEquals(List.of("warning: " + pem + ": mode 0644 gives group/other access; must be 0600"), r.err().lines().toList(),
                r::toString);
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(pem)), "status never repairs");
    }

    @Test
    void statusMissingInvalidFreshAndRenewDueWithoutNetwork() throws Exception {
        Cli offline = new Cli(null, cli.storeDir());
        Cli.Result missing = offline.run("status", "--json");
        assertEquals(2, missing.code(), missing::toString);
        JsonNode m = missing.json();
        assertEquals("MISSING", m.get("state").asText());
        assertTrue(m.get("x5tS256").isNull() && m.get("notAfter").isNull() && m.get("source").isNull());
        assertFalse(m.get("reason").asText().isBlank());
        assertFalse(Files.exists(cli.storeDir()), "status never writes: not even the directory");

        assertEquals(0, cli.run("acquire").code());
        long calls = imdsCalls();
        Cli.Result fresh = offline.run("status", "--json");
        assertEquals(0, fresh.code(), fresh::toString);
        assertEquals("FRESH", fresh.json().get("state").asText());
        assertEquals("store", fresh.json().get("source").asText());
        assertEquals(calls, imdsCalls());

        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(cli.storeDir()).build();
        MtlsCredential due = TestCredentials.newCa().credential(ManagedIdentityId.systemAssigned(),
                Instant.now().minus(Duration.ofMinutes(6)), Duration.ofMinutes(10));
        store.save(due);
        Cli.Result renewDue = offline.run("status", "--json");
        assertEquals(1, renewDue.code(), renewDue::toString);
        assertEquals("RENEW_DUE", renewDue.json().get("state").asText());
        assertEquals(due.x5tS256(), renewDue.json().get("x5tS256").asText());

        Path pem = cli.storeDir().resolve("msal_mtls.pem");
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
        byte[] corrupt = Files.readAllBytes(pem);
        Cli.Result invalid = offline.run("status", "--json");
        assertEquals(2, invalid.code(), invalid::toString);
        assertEquals("INVALID", invalid.json().get("state").asText());
        assertFalse(invalid.json().get("reason").asText().isBlank());
        assertTrue(java.util.Arrays.equals(corrupt, Files.readAllBytes(pem)), "status leaves a corrupt entry alone");
    }

    @Test
    void acquireOfARenewDueCredentialWithImdsDownServesItWithAWarning() {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(cli.storeDir()).build();
        MtlsCredential due = TestCredentials.newCa().credential(ManagedIdentityId.systemAssigned(),
                Instant.now().minus(Duration.ofMinutes(6)), Duration.ofMinutes(10));
        store.save(due);
        Cli.Result r = new Cli(null, cli.storeDir()).run("acquire", "--json");
        assertEquals(0, r.code(), r::toString);
        assertEquals("store", r.json().get("source").asText());
        assertEquals("RENEW_DUE", r.json().get("state").asText());
        assertEquals(due.x5tS256(), r.json().get("x5tS256").asText());
        assertTrue(r.err().startsWith("warning: "), r.err());

        Cli.Result renewed = cli.run("acquire", "--json");
        assertEquals(0, renewed.code(), renewed::toString);
        assertEquals("imds", renewed.json().get("source").asText());
        assertEquals("FRESH", renewed.json().get("state").asText());
        assertNotEquals(due.x5tS256(), renewed.json().get("x5tS256").asText());
    }

    @Test
    void acquireOfARenewDueCredentialDoesNotWaitOutImdsTimeoutsBeforeServingIt() {
        MtlsCredential due = storeRenewDueCredential();
        emu.faults().next(EmulatorPath.PLATFORM_METADATA, 20, Fault.delay(Duration.ofSeconds(60)));
        long start = System.nanoTime();
        Cli.Result r = cli.run("acquire", "--json");
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        emu.faults().clear();
        assertEquals(0, r.code(), r::toString);
        assertEquals("store", r.json().get("source").asText());
        assertEquals("RENEW_DUE", r.json().get("state").asText());
        assertEquals(due.x5tS256(), r.json().get("x5tS256").asText());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("warning: "), r.err());
        // Behaviour, not a benchmark: far below the ~90 s one IMDS call may take with retries.
        assertTrue(took.compareTo(Duration.ofSeconds(30)) < 0, "served the valid credential after " + took);
    }

    @Test
    void aValidCredentialBoundsTheRenewalWhileNoCredentialGetsTheWholeRetryTable() {
        MtlsCredential due = storeRenewDueCredential();
        // Three 503s: the table retries after 1 s, 2 s and 4 s; the fourth attempt would succeed.
        emu.faults().next(EmulatorPath.PLATFORM_METADATA, 3, Fault.status(503));
        Cli.Result served = cli.run("acquire", "--json");
        assertEquals(0, served.code(), served::toString);
        assertEquals("store", served.json().get("source").asText(), "gave up renewing within the bound");
        assertEquals(due.x5tS256(), served.json().get("x5tS256").asText());
        assertTrue(served.err().startsWith("warning: ") && served.err().contains("HTTP 503"), served.err());

        emu.faults().clear();
        assertEquals(0, cli.run("clear").code());
        emu.faults().next(EmulatorPath.PLATFORM_METADATA, 3, Fault.status(503));
        Cli.Result issued = cli.run("acquire", "--json");
        assertEquals(0, issued.code(), issued::toString);
        assertEquals("imds", issued.json().get("source").asText(), "without a valid credential every retry is taken");
        assertEquals("FRESH", issued.json().get("state").asText());
        assertEquals("", issued.err());
    }

    /** A credential 60 % into its 10-minute life (renewAt at 50 %) in the test's store. */
    private MtlsCredential storeRenewDueCredential() {
        MtlsCredential due = TestCredentials.newCa().credential(ManagedIdentityId.systemAssigned(),
                Instant.now().minus(Duration.ofMinutes(6)), Duration.ofMinutes(10));
        LinuxCredentialStore.builder().directory(cli.storeDir()).build().save(due);
        return due;
    }

    @Test
    void imdsDownIsExit3WithOneErrorLine() {
        Cli.Result r = new Cli(null, cli.storeDir()).run("acquire");
        assertEquals(3, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: "), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("x-ms-client-request-id"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void nothingListeningNamesTheEndpointUsedAndTheRequestIdInOneErrorLine() throws Exception {
        String endpoint;
        try (ServerSocket closedSoon = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            endpoint = "http://127.0.0.1:" + closedSoon.getLocalPort();
        }
        Cli offline = new Cli(null, cli.storeDir());
        for (Cli.Result r : List.of(offline.run("--imds-endpoint", endpoint, "acquire"),
                new Cli(null, cli.storeDir()).env("MSI_AGENT_IMDS_ENDPOINT", endpoint).run("renew"))) {
            assertEquals(3, r.code(), r::toString);
            assertEquals(1, r.err().lines().count(), r.err());
            String line = r.err().strip();
            assertTrue(line.startsWith("error: "), line);
            assertTrue(line.contains("nothing listens at " + endpoint + " "), line);
            assertFalse(line.contains("169.254.169.254"), "names the endpoint used, not the default: " + line);
            assertFalse(line.contains(".."), line);
            assertTrue(Pattern.compile("x-ms-client-request-id[ =][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                    .matcher(line).find(), line);
            assertEquals(1, Pattern.compile("x-ms-client-request-id").matcher(line).results().count(), "said once: " + line);
            assertEquals("", r.out());
        }
    }

    @Test
    void renewGetsANewCertificateAndAFailureKeepsTheOldOne() {
        String before = cli.run("acquire", "--json").json().get("x5tS256").asText();
        Cli.Result renewed = cli.run("renew", "--json");
        assertEquals(0, renewed.code(), renewed::toString);
        assertEquals("imds", renewed.json().get("source").asText());
        String after = renewed.json().get("x5tS256").asText();
        assertNotEquals(before, after);

        emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 10, Fault.status(400));
        Cli.Result failed = cli.run("renew", "--json");
        emu.faults().clear();
        assertEquals(3, failed.code(), failed::toString);
        assertTrue(failed.err().startsWith("error: ") && failed.err().contains("HTTP 400") && failed.err().contains("x-ms-client-request-id"),
                failed.err());
        assertEquals(after, cli.run("status", "--json").json().get("x5tS256").asText(), "the previous credential survives");
    }

    @Test
    void invalidCertificateFromImdsIsExit3() {
        emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 1, Fault.certificateForOtherKey());
        Cli.Result r = cli.run("acquire");
        assertEquals(3, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: "), r.err());
        assertEquals(2, cli.run("status").code(), "nothing was stored");
    }

    @Test
    void aSymlinkedStoreIsAStoreFailureNamingThePath() throws Exception {
        Path real = Files.createDirectory(tmp.resolve("real"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        Cli linked = new Cli(emu, link);
        Cli.Result r = linked.run("acquire");
        assertEquals(4, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: ") && r.err().contains(link.toString()), r.err());
        assertStatusIsAStoreFailure(linked, link, "symbolic link");
    }

    @Test
    void aStorePathThatIsARegularFileIsAStoreFailureForStatusAsForAcquire() throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        Cli onFile = new Cli(emu, file);
        Cli.Result acquire = onFile.run("acquire");
        assertEquals(4, acquire.code(), acquire::toString);
        assertStatusIsAStoreFailure(onFile, file, "not a directory");
        assertEquals("x", Files.readString(file), "status leaves the file alone");
    }

    @Test
    void aStoreDirectoryOwnedBySomeoneElseIsAStoreFailure() throws Exception {
        Assumptions.assumeTrue(PrivatePaths.currentUid() == 0, "only root can give a directory to another user");
        Path dir = Files.createDirectory(tmp.resolve("foreign"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Files.setAttribute(dir, "unix:uid", 65534);
        Cli foreign = new Cli(emu, dir);
        Cli.Result acquire = foreign.run("acquire");
        assertEquals(4, acquire.code(), acquire::toString);
        assertStatusIsAStoreFailure(foreign, dir, "owned by uid 65534");
    }

    @Test
    void aSymlinkedEntryFileIsAStoreFailureButACorruptEntryStaysInvalid() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        Path pem = cli.storeDir().resolve("msal_mtls.pem");
        Path elsewhere = Files.move(pem, tmp.resolve("elsewhere.pem"));
        Files.createSymbolicLink(pem, elsewhere);
        Cli.Result acquire = cli.run("acquire");
        assertEquals(4, acquire.code(), acquire::toString);
        assertStatusIsAStoreFailure(cli, pem, "symbolic link");

        Files.delete(pem);
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
        Files.setPosixFilePermissions(pem, PosixFilePermissions.fromString("rw-------"));
        Cli.Result corrupt = cli.run("status", "--json");
        assertEquals(2, corrupt.code(), corrupt::toString);
        assertEquals("INVALID", corrupt.json().get("state").asText());
        assertEquals("", corrupt.err(), "a corrupt entry is a state, not an error");
    }

    /** status (text and --json) on an unusable store: exit 4, one error line naming the path, one JSON object. */
    private static void assertStatusIsAStoreFailure(Cli cli, Path path, String problem) {
        Cli.Result text = cli.run("status");
        assertEquals(4, text.code(), text::toString);
        assertEquals(1, text.err().lines().count(), text::toString);
        assertTrue(text.err().startsWith("error: " + path + ": ") && text.err().contains(problem), text.err());

        Cli.Result json = cli.run("status", "--json");
        assertEquals(4, json.code(), json::toString);
        assertEquals(1, json.out().lines().count(), "one JSON object: " + json.out());
        assertEquals("INVALID", json.json().get("state").asText());
        assertTrue(json.json().get("reason").asText().contains(problem), json.out());
        assertTrue(json.json().get("x5tS256").isNull(), json.out());
        assertEquals(text.err(), json.err(), "the same error line with --json");
    }

    @Test
    void clearRemovesTheEntry() {
        assertEquals(0, cli.run("acquire").code());
        Cli.Result r = cli.run("clear", "--json");
        assertEquals(0, r.code(), r::toString);
        assertEquals("system", r.json().get("identity").asText());
        List<String> removed = Cli.JSON.convertValue(r.json().get("removed"), List.class);
        assertTrue(removed.contains(cli.storeDir().resolve("msal_mtls.pem").toString()), removed::toString);
        assertFalse(Files.exists(cli.storeDir().resolve("msal_mtls.pem")));
        assertEquals(2, cli.run("status").code());
        Cli.Result again = cli.run("clear", "--json");
        assertEquals(0, again.code());
        assertEquals(0, again.json().get("removed").size());
    }

    @Test
    void tokenOverMtlsShowsTheTokenOnlyWhenAsked() throws Exception {
        Cli.Result r = cli.run("token", "--resource", "https://management.azure.com", "--json");
        assertEquals(0, r.code(), r::toString);
        JsonNode j = r.json();
        assertEquals("bearer", j.get("tokenType").asText());
        assertTrue(Instant.parse(j.get("expiresOn").asText()).isAfter(Instant.now()));
        assertFalse(j.has("accessToken"));
        String x5t = cli.run("status", "--json").json().get("x5tS256").asText();
        assertEquals(x5t, j.get("x5tS256").asText(), "token acquired with the credential acquired first");

        Cli.Result pop = cli.run("token", "--resource", "https://vault.azure.net", "--token-type", "mtls_pop", "--show-token", "--json");
        assertEquals(0, pop.code(), pop::toString);
        assertEquals("mtls_pop", pop.json().get("tokenType").asText());
        assertEquals(x5t, DemoCommand.cnfThumbprint(pop.json().get("accessToken").asText()));
    }

    @Test
    void tokenEndpointNotTrustedIsExit3AndKeepsTheCredential() throws Exception {
        assertEquals(0, cli.run("acquire").code());
        byte[] stored = Files.readAllBytes(cli.storeDir().resolve("msal_mtls.pem"));
        long issued = emu.stats().certificatesIssued();
        Cli untrusting = new Cli(emu, cli.storeDir()).env("MSI_AGENT_TRUST_CA", null);
        Cli.Result r = untrusting.run("token", "--resource", "https://management.azure.com");
        assertEquals(3, r.code(), r::toString);
        assertTrue(r.err().startsWith("error: ") && !r.err().contains("re-issued"), r.err());
        assertEquals(issued, emu.stats().certificatesIssued(), "an endpoint we do not trust is no reason to replace our certificate");
        assertTrue(java.util.Arrays.equals(stored, Files.readAllBytes(cli.storeDir().resolve("msal_mtls.pem"))));
    }

    @Test
    void userAssignedIdentityHasItsOwnEntry() {
        Cli.Result r = cli.run("acquire", "--client-id", USER.clientId(), "--json");
        assertEquals(0, r.code(), r::toString);
        assertEquals("client_id=" + USER.clientId(), r.json().get("identity").asText());
        assertEquals(USER.clientId(), r.json().get("clientId").asText());
        assertEquals(2, cli.run("status").code(), "the system-assigned identity has nothing stored");
        assertEquals(0, cli.run("--client-id", USER.clientId(), "status").code());
    }

    @Test
    void usageErrorsAreExit64WithAHelpfulMessage() {
        Cli.Result two = cli.run("--client-id", "a", "--object-id", "b", "status");
        assertEquals(64, two.code(), two::toString);
        assertTrue(two.err().contains("at most one of --client-id, --object-id, --resource-id"), two.err());

        Cli.Result unknown = cli.run("statsu");
        assertEquals(64, unknown.code(), unknown::toString);
        assertTrue(unknown.err().startsWith("error: ") && unknown.err().contains("status"), unknown.err());

        assertEquals(64, cli.run("status", "--frobnicate").code());
        assertEquals(64, cli.run("token").code(), "--resource is required");
        Cli.Result badType = cli.run("token", "--resource", "x", "--token-type", "jwt");
        assertEquals(64, badType.code(), badType::toString);
        assertTrue(badType.err().contains("mtls_pop or bearer"), badType.err());
        assertEquals(64, cli.runExactly().code(), "no command");
        Cli.Result badPort = cli.run("run", "--metrics-port", "70000");
        assertEquals(64, badPort.code(), badPort::toString);
        assertTrue(badPort.err().contains("--metrics-port"), badPort.err());
        Cli.Result badCa = cli.run("--trust-ca", tmp.resolve("nope.pem").toString(), "token", "--resource", "x");
        assertEquals(64, badCa.code(), badCa::toString);
        assertTrue(badCa.err().contains("nope.pem"), badCa.err());
    }

    @Test
    void helpAndVersion() {
        Cli.Result help = cli.runExactly("--help");
        assertEquals(0, help.code());
        for (String command : List.of("acquire", "status", "renew", "clear", "run", "token", "doctor", "emulator", "demo")) {
            assertTrue(help.out().contains(command), command);
        }
        Cli.Result version = cli.runExactly("--version");
        assertEquals(0, version.code());
        assertTrue(version.out().startsWith("msi-agent "), version.out());
        assertEquals(0, cli.runExactly("token", "--help").code());
    }

    static X509Certificate certificateIn(Path pem) throws Exception {
        String text = Files.readString(pem);
        int start = text.indexOf("-----BEGIN CERTIFICATE-----");
        int end = text.indexOf("-----END CERTIFICATE-----", start) + "-----END CERTIFICATE-----".length();
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(text.substring(start, end).getBytes()));
    }
}
