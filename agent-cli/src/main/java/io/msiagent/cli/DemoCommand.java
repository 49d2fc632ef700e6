package io.msiagent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.CredentialStatus;
import io.msiagent.core.KeyMatch;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.imds.AccessToken;
import io.msiagent.imds.ImdsClient;
import io.msiagent.imds.PlatformMetadata;
import io.msiagent.imds.TokenType;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code demo}: the whole flow against an in-process emulator, narrated step by step, through the
 * public API only (MsiCredentialCache, the store SPI, ImdsClient). Exit 0 when every step worked;
 * otherwise a {@code FAILED} line names the step and the exit code is the failure's (3
 * IMDS/network, 4 store, 2 anything else). Ignores --imds-endpoint and the identity options: it
 * always uses its own emulator and the system-assigned identity. The store is the one --store-dir
 * or MSI_AGENT_STORE_DIR names, when given (the demo's credential stays there; a store that
 * already holds one is refused, exit 64, so that nothing is replaced); otherwise a temporary
 * directory, removed at the end unless {@code --keep}.
 *
 * <p>With {@code --json} stdout carries one JSON object instead of the narration, printed at the end
 * (see {@link #report}): {@code ok}, the failure's {@code error} and {@code failedStep}, what the
 * demo left where, the final credential's public facts, and {@code steps}, each with the narration
 * of that step as its {@code detail}. The exit codes are the same; a failure also has its one
 * {@code error:} line on stderr. A usage error (exit 64: a bad option, a store the demo refuses)
 * prints no JSON, as for every command.
 */
@Command(name = "demo", description = {"The whole flow against an in-process emulator, narrated.",
        "Store: --store-dir (or MSI_AGENT_STORE_DIR) when given, and the demo's credential stays there (a store that already "
                + "holds a credential for the system identity is refused); default: a temporary directory, removed at the end "
                + "unless --keep.",
        "With --json: one JSON object on stdout instead of the narration (ok, error, failedStep, the store and what is left"
                + " in it, the credential's x5tS256, and steps: step, name, result ok|failed|skipped, detail)."})
final class DemoCommand implements Callable<Integer> {
    private static final String RESOURCE = "https://management.azure.com";
    /** The steps, in order: their titles in the narration and their names in the JSON. */
    static final List<String> STEP_NAMES = List.of("IMDS v2 emulator", "Platform metadata", "Key, CSR and issuance", "Validation",
            "Persistence", "Second acquisition, from the store", "Forced renewal", "mTLS token with x5t#S256 binding", "Status");
    private static final int STEPS = STEP_NAMES.size();

    @ParentCommand
    MsiAgentCommand root;

    @Option(names = "--keep", description = "Without --store-dir: keep the temporary store directory (its path is printed).")
    boolean keep;

    @Option(names = "--cert-lifetime", paramLabel = "D", converter = EmulatorCommand.DurationConverter.class,
            description = "Lifetime of the emulator's certificates (default 10m).")
    Duration certLifetime = Duration.ofMinutes(10);

    private PrintStream out;
    private boolean json;
    private int step;
    /** The narration of each step begun so far (what {@link #say} said). */
    private final List<List<String>> details = new ArrayList<>();
    /** The step that failed (0: none), and the failure's description (null: none). */
    private int failedStep;
    private String failure;
    /** What the JSON says besides the steps; every key is always present (null when not known). */
    private final Map<String, Object> facts = new LinkedHashMap<>();
    private boolean reported;

    @Override
    public Integer call() throws IOException {
        out = root.io().out();
        json = root.json;
        for (String key : List.of("store", "temporaryDirectory", "temporaryDirectoryRemoved", "credentialLeft", "filesLeft",
                "clientId", "tenantId", "x5tS256", "serialNumber", "generation", "notBefore", "notAfter", "renewAt", "keyProtection",
                "attested", "caX5tS256", "imdsEndpoint", "tokenEndpoint", "tokenType", "tokenExpiresOn", "imdsCalls",
                "certificatesIssued", "tokensIssued")) {
            facts.put(key, null);
        }
        EmulatorConfig config = emulatorConfig(); // a bad --cert-lifetime is refused before anything is printed or made
        try {
            return run(config);
        } catch (IOException | RuntimeException e) {
            // a failure outside the steps (the store, the temporary directory): the JSON says so, and the
            // exception goes on to Main, which prints the error: line and exits with its code, as without --json
            if (json && !reported && Failures.exitCode(e) != ExitCodes.USAGE) {
                failure = Failures.describe(e);
                report(false);
            }
            throw e;
        }
    }

    private int run(EmulatorConfig config) throws IOException {
        CredentialStore given = givenStore();
        if (given != null) {
            return runInGivenStore(given, config);
        }
        Path tmp = temporaryStoreDirectory();
        facts.put("temporaryDirectory", tmp.toString());
        facts.put("store", tmp.resolve("certs").toString());
        line("msi-agent demo: the MSI v2 credential flow against an in-process IMDS v2 emulator");
        line("");
        // Ctrl-C or SIGTERM in the middle still removes the temporary store (only SIGKILL leaves it).
        Thread cleanup = new Thread(() -> {
            if (!keep) {
                try {
                    deleteRecursively(tmp);
                } catch (IOException e) {
                    // best effort while the JVM exits
                }
            }
        }, "msi-agent-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        int code;
        CredentialStore store = null;
        try {
            store = Setup.openStore(tmp.resolve("certs"), root.io(), false);
            code = runSteps(store, config);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // already shutting down: the hook cleans up
            }
            line("");
            if (keep) {
                facts.put("temporaryDirectoryRemoved", false);
                facts.put("credentialLeft", store == null ? null : storedCredential(store));
                line("Kept " + tmp + " (the store is in " + tmp.resolve("certs") + "); remove it with: rm -r " + tmp);
            } else {
                deleteRecursively(tmp);
                boolean left = Files.exists(tmp);
                facts.put("temporaryDirectoryRemoved", !left);
                line("Cleaned up: removed " + tmp + (left ? " (FAILED: it is still there)" : "; nothing else was written."));
            }
        }
        return verdict(code);
    }

    /** A store failure (exit 4) that says why, rather than an IOException whose message is a path. */
    private static Path temporaryStoreDirectory() {
        String parent = System.getProperty("java.io.tmpdir");
        try {
            return Files.createTempDirectory(Path.of(parent), "msi-agent-demo-");
        } catch (IOException e) {
            String reason = e instanceof java.nio.file.NoSuchFileException ? "no such directory"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : String.valueOf(e.getMessage());
            throw new StoreException(parent, "cannot create the demo's temporary store directory there: " + reason
                    + " (give the demo a store with --store-dir, or another java.io.tmpdir)", e);
        }
    }

    /** Where the store holds the demo's credential, or null when it holds none (or cannot say). */
    private static String storedCredential(CredentialStore store) {
        ManagedIdentityId identity = ManagedIdentityId.systemAssigned();
        try {
            return store.inspect(identity).kind() == LoadResult.Kind.FOUND ? store.location(identity) : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private int verdict(int code) {
        if (json) {
            report(code == ExitCodes.OK);
            return code;
        }
        out.println(code == ExitCodes.OK ? "demo: OK, every step worked."
                : "demo: FAILED at step " + step + " (" + STEP_NAMES.get(step - 1) + ").");
        out.flush();
        return code;
    }

    /**
     * The one JSON object of {@code --json}: {@code ok}, {@code failedStep} and {@code error} (null when
     * all worked), the facts, then every step with {@code result} ok, failed or skipped (not reached)
     * and its narration as {@code detail}. No private key, attestation or token: only what the
     * narration says.
     */
    private void report(boolean ok) {
        reported = true;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", ok && failure == null);
        m.put("failedStep", failedStep == 0 ? null : failedStep);
        m.put("error", failure);
        m.putAll(facts);
        List<Map<String, Object>> steps = new ArrayList<>();
        for (int i = 0; i < STEPS; i++) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("step", i + 1);
            s.put("name", STEP_NAMES.get(i));
            s.put("result", i >= details.size() ? "skipped" : i + 1 == failedStep ? "failed" : "ok");
            s.put("detail", i >= details.size() ? "" : String.join("\n", details.get(i)));
            steps.add(s);
        }
        m.put("steps", steps);
        Output.printJson(out, m);
    }

    /** The store --store-dir or MSI_AGENT_STORE_DIR names, or null when neither is given. */
    private CredentialStore givenStore() {
        String fromEnv = root.io().env().get(MsiAgentCommand.ENV_STORE_DIR);
        if (root.storeDir() == null && (fromEnv == null || fromEnv.isBlank())) {
            return null;
        }
        facts.put("store", root.storeDir() != null ? root.storeDir().toString() : fromEnv.strip());
        return Setup.openStore(root.storeDir(), root.io(), root.pkcs12());
    }

    /**
     * The demo in a store the user named: refused when that store already holds a credential for the
     * identity (or a corrupt one the demo would quarantine), so that it never replaces anything; the
     * demo's credential is left there.
     */
    private int runInGivenStore(CredentialStore store, EmulatorConfig config) {
        ManagedIdentityId identity = ManagedIdentityId.systemAssigned();
        String where = store instanceof LinuxCredentialStore linux ? linux.directory().toString() : store.location(identity);
        facts.put("store", where);
        StoreAccess.requireReadable(store, identity);
        LoadResult existing = store.inspect(identity);
        if (existing.isLeftInPlace()) {
            throw new UsageException(where + " holds another msi-agent version's entry for " + identity
                    + "; the demo does not touch it: give an empty --store-dir");
        }
        if (existing.kind() != LoadResult.Kind.ABSENT) {
            throw new UsageException(where + " already holds " + (existing.kind() == LoadResult.Kind.FOUND ? "a credential"
                    : "an unreadable entry") + " for " + identity + "; the demo does not replace it: give an empty --store-dir,"
                    + " or remove it first with: msi-agent clear --store-dir " + where);
        }
        line("msi-agent demo: the MSI v2 credential flow against an in-process IMDS v2 emulator, in the store " + where);
        line("");
        int code = runSteps(store, config);
        line("");
        if (store.inspect(identity).kind() == LoadResult.Kind.FOUND) {
            facts.put("credentialLeft", store.location(identity));
            line("The demo's credential stays in " + store.location(identity) + " (issued by the demo's throwaway CA; remove it"
                    + " with: msi-agent clear --store-dir " + where + ")");
        } else {
            line("No credential of the demo's was stored in " + where + ".");
        }
        List<String> left = store instanceof LinuxCredentialStore linux ? filesLeft(linux, identity) : List.of();
        facts.put("filesLeft", left);
        if (!left.isEmpty()) {
            line("Files the demo left in " + where + ": " + String.join(", ", left)
                    + " (clear keeps the lock file, as for every identity)");
        }
        return verdict(code);
    }

    /** The entry's files that exist, the lock file included: the demo says everything it leaves behind. */
    private static List<String> filesLeft(LinuxCredentialStore store, ManagedIdentityId identity) {
        List<String> names = new ArrayList<>();
        for (Path p : List.of(store.pemFile(identity), store.metadataFile(identity), store.pkcs12File(identity), store.lockFile(identity))) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    private EmulatorConfig emulatorConfig() {
        try {
            return EmulatorConfig.builder().certLifetime(certLifetime).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    private int runSteps(CredentialStore store, EmulatorConfig config) {
        ManagedIdentityId identity = ManagedIdentityId.systemAssigned();
        try (ImdsEmulator emu = startEmulator(config)) {
            try {
                return steps(emu, store, identity);
            } finally {
                var s = emu.stats();
                facts.put("imdsCalls", imdsCalls(emu));
                facts.put("certificatesIssued", s.certificatesIssued());
                facts.put("tokensIssued", s.tokensIssued());
            }
        } catch (Exception e) {
            failure = Failures.describe(e);
            failedStep = step;
            if (json) {
                if (step > 0) {
                    details.get(step - 1).add("FAILED: " + failure);
                }
                root.io().err().println("error: " + failure); // the narration's FAILED line is not on stdout
            } else {
                out.println("  FAILED: " + failure);
            }
            if (root.verbose) {
                e.printStackTrace(root.io().err());
            }
            return e instanceof DemoCheckFailed ? ExitCodes.NO_USABLE_CREDENTIAL : Failures.exitCode(e);
        }
    }

    /** Steps 2 to 9, with the emulator of step 1. */
    private int steps(ImdsEmulator emu, CredentialStore store, ManagedIdentityId identity) throws Exception {
        ImdsClient imds = ImdsClient.builder().endpoint(emu.imdsEndpoint()).build();
        MsiCredentialCache.Builder caches = MsiCredentialCache.builder().identity(identity).store(store).imdsClient(imds)
                .trustedCertificates(List.of(emu.caCertificate()));

        begin("Platform metadata");
        PlatformMetadata md = imds.platformMetadata(identity.selector());
        facts.put("clientId", md.clientId());
        facts.put("tenantId", md.tenantId());
        say("GET " + emu.imdsEndpoint() + "/metadata/identity/getplatformmetadata answered:");
        say("  clientId " + md.clientId() + ", tenantId " + md.tenantId());
        say("  cuId (goes into the CSR): vmId " + md.cuId().vmId() + (md.cuId().vmssId() != null ? ", vmssId " + md.cuId().vmssId() : "")
                + "; attestation endpoint " + md.attestationEndpoint());

        MtlsCredential first;
        try (MsiCredentialCache cache = caches.build()) {
            begin("Key, CSR and issuance");
            long issuedBefore = emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL);
            long t0 = System.nanoTime();
            first = cache.get();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL) == issuedBefore + 1, "expected one issuecredential call");
            credential(first);
            say("cache.get() found nothing in memory or in the store, so it asked IMDS (" + ms + " ms):");
            say("  made an RSA-2048 key, protection " + first.keyProtection() + protectionNote(first)
                    + (first.attested() ? ", attested" : ", not attested (no attestation on this platform)"));
            say("  built a PKCS#10 CSR (RSASSA-PSS, subject CN=clientId/DC=tenantId, cuId attribute) and POSTed it to issuecredential");
            X509Certificate cert = first.certificate();
            say("  got certificate serial " + first.serialNumberHex() + " for " + cert.getSubjectX500Principal().getName());
            say("  issued by " + cert.getIssuerX500Principal().getName() + ", valid " + first.notBefore() + " .. " + first.notAfter());

            begin("Validation");
            check(KeyMatch.matches(cert.getPublicKey(), first.privateKey()), "the certificate's public key is not our key's");
            say("the certificate's public key is our key's (so nobody else's key got certified)");
            cert.verify(emu.caCertificate().getPublicKey());
            say("its signature verifies with the emulator CA (x5t#S256 " + MtlsCredential.x5tS256(emu.caCertificate()) + ")");
            Instant now = Instant.now();
            check(!now.isBefore(first.notBefore().minus(Duration.ofMinutes(5))) && now.isBefore(first.notAfter()),
                    "outside its validity window");
            say("it is inside its validity window; x5t#S256 " + first.x5tS256());
            say("renewal planned at " + first.renewAt() + ", " + percentOfLifetime(first, first.renewAt()) + " of its lifetime");

            begin("Persistence");
            if (store instanceof LinuxCredentialStore linux) {
                say(mode(linux.directory()) + " " + linux.directory());
                say(mode(linux.pemFile(identity)) + " " + linux.pemFile(identity) + "  (PKCS#8 key + certificate: curl --cert, openssl)");
                say(mode(linux.metadataFile(identity)) + " " + linux.metadataFile(identity) + "  (client id, tenant, token endpoint, renewAt)");
            } else {
                say("saved in " + store.location(identity));
            }
        }

        begin("Second acquisition, from the store");
        Map<String, Long> callsBefore = imdsCalls(emu);
        try (MsiCredentialCache cache = caches.build()) {
            MtlsCredential again = cache.get();
            Map<String, Long> callsAfter = imdsCalls(emu);
            check(again.x5tS256().equals(first.x5tS256()), "a new cache got a different certificate: " + again.x5tS256());
            check(callsAfter.equals(callsBefore), "IMDS was called: " + callsBefore + " -> " + callsAfter);
            say("a NEW cache instance (as a new process would) got the same certificate " + again.x5tS256());
            say("IMDS calls before/after: " + callsBefore + " / " + callsAfter + ": 0 new calls, served from the store");

            begin("Forced renewal");
            long issuedBefore = emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL);
            MtlsCredential renewed = cache.refresh();
            check(renewed.generation() > again.generation(), "no new generation");
            check(!renewed.x5tS256().equals(again.x5tS256()), "same thumbprint after renewal");
            check(emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL) == issuedBefore + 1, "expected one new issuecredential call");
            LoadResult stored = store.inspect(identity);
            check(stored.credential().map(c -> c.x5tS256().equals(renewed.x5tS256())).orElse(false),
                    "the store does not hold the renewed certificate");
            credential(renewed);
            say("cache.refresh(): generation " + again.generation() + " -> " + renewed.generation() + ", serial "
                    + renewed.serialNumberHex());
            say("x5t#S256 " + again.x5tS256() + " -> " + renewed.x5tS256());
            say("the store now holds the new certificate; the key manager hands it to the next TLS handshake");

            begin("mTLS token with x5t#S256 binding");
            AccessToken token = cache.acquireToken(RESOURCE, TokenType.MTLS_POP);
            String cnf = cnfThumbprint(token.token());
            check(renewed.x5tS256().equals(cnf), "the token is bound to " + cnf + ", not to " + renewed.x5tS256());
            facts.put("tokenType", token.tokenType().wireName());
            facts.put("tokenExpiresOn", String.valueOf(token.expiresOn()));
            say(token.tokenType().wireName() + " token for " + RESOURCE + " from " + renewed.tokenEndpoint());
            say("over mutual TLS with the renewed certificate; expires " + token.expiresOn());
            say("JWT payload cnf.x5t#S256 = " + cnf + ": matches the credential (token not printed)");

            begin("Status");
            CredentialStatus status = cache.status();
            table(List.of(
                    List.of("identity", "state", "generation", "x5t#S256", "notAfter", "renewAt", "key", "store"),
                    List.of(identity.toString(), status.state().name(), String.valueOf(status.credential().generation()),
                            status.credential().x5tS256(), status.credential().notAfter().toString(),
                            status.credential().renewAt().toString(), status.credential().keyProtection().name(),
                            store.location(identity))));
            say("IMDS calls in total: " + imdsCalls(emu) + ", certificates issued: " + emu.stats().certificatesIssued()
                    + ", tokens issued: " + emu.stats().tokensIssued());
        }
        return ExitCodes.OK;
    }

    /** The public facts of the demo's latest credential, for the JSON (never its key). */
    private void credential(MtlsCredential c) {
        facts.put("x5tS256", c.x5tS256());
        facts.put("serialNumber", c.serialNumberHex());
        facts.put("generation", c.generation());
        facts.put("notBefore", c.notBefore().toString());
        facts.put("notAfter", c.notAfter().toString());
        facts.put("renewAt", c.renewAt().toString());
        facts.put("keyProtection", c.keyProtection().name());
        facts.put("attested", c.attested());
        facts.put("tokenEndpoint", c.tokenEndpoint());
    }

    private ImdsEmulator startEmulator(EmulatorConfig config) {
        begin("IMDS v2 emulator");
        ImdsEmulator emu = ImdsEmulator.start(config);
        facts.put("imdsEndpoint", emu.imdsEndpoint());
        facts.put("caX5tS256", MtlsCredential.x5tS256(emu.caCertificate()));
        say("IMDS (plain HTTP) at " + emu.imdsEndpoint() + ", token endpoint (mutual TLS) at " + emu.tokenEndpointBase());
        say("throwaway CA " + emu.caCertificate().getSubjectX500Principal().getName() + "; certificates live "
                + Durations.human(config.certLifetime()) + "; tenant " + emu.tenantId());
        return emu;
    }

    private static Map<String, Long> imdsCalls(ImdsEmulator emu) {
        var s = emu.stats();
        return new java.util.TreeMap<>(Map.of(EmulatorPath.PLATFORM_METADATA.wireName(), s.calls(EmulatorPath.PLATFORM_METADATA),
                EmulatorPath.ISSUE_CREDENTIAL.wireName(), s.calls(EmulatorPath.ISSUE_CREDENTIAL)));
    }

    private static String protectionNote(MtlsCredential c) {
        return switch (c.keyProtection()) {
            case SOFTWARE -> " (a software key, kept in a 0600 file)";
            case TPM -> " (non-exportable, in the TPM)";
            case KEYGUARD -> " (non-exportable, VBS-isolated)";
        };
    }

    private static String percentOfLifetime(MtlsCredential c, Instant at) {
        double life = Duration.between(c.notBefore(), c.notAfter()).toMillis();
        return String.format(java.util.Locale.ROOT, "%.1f %%", 100.0 * Duration.between(c.notBefore(), at).toMillis() / life);
    }

    static String cnfThumbprint(String jwt) throws IOException {
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) {
            throw new DemoCheckFailed("the access token is not a JWT");
        }
        JsonNode payload = new JsonMapper().readTree(Base64.getUrlDecoder().decode(parts[1]));
        JsonNode x5t = payload.path("cnf").path("x5t#S256");
        if (!x5t.isTextual()) {
            throw new DemoCheckFailed("the token has no cnf.x5t#S256 claim (not bound to the certificate)");
        }
        return x5t.asText();
    }

    private static String mode(Path p) throws IOException {
        boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        try {
            return (dir ? "d" : "-") + PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
        } catch (UnsupportedOperationException e) {
            return dir ? "dir " : "file";
        }
    }

    private void table(List<List<String>> rows) {
        int cols = rows.get(0).size();
        int[] width = new int[cols];
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            List<String> cells = new ArrayList<>();
            for (int i = 0; i < cols; i++) {
                cells.add(String.format("%-" + width[i] + "s", r.get(i)));
            }
            say(String.join("  ", cells).stripTrailing());
        }
    }

    private void begin(String name) {
        if (!name.equals(STEP_NAMES.get(step))) {
            throw new IllegalStateException("step " + (step + 1) + " is " + STEP_NAMES.get(step) + ", not " + name);
        }
        step++;
        details.add(new ArrayList<>());
        if (!json) {
            out.println("[" + step + "/" + STEPS + "] " + name);
            out.flush();
        }
    }

    /** A line of the current step's narration (its JSON detail with --json). */
    private void say(String line) {
        details.get(step - 1).add(line);
        if (!json) {
            out.println("      " + line);
            out.flush();
        }
    }

    /** A line of the narration outside the steps (none with --json: the JSON's fields say it). */
    private void line(String text) {
        if (!json) {
            out.println(text);
        }
    }

    private static void check(boolean ok, String problem) {
        if (!ok) {
            throw new DemoCheckFailed(problem);
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A demo check that did not hold. */
    static final class DemoCheckFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DemoCheckFailed(String message) {
            super(message);
        }
    }

}
