package io.msiagent.cli;

import io.msiagent.core.CredentialState;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.PlatformDefaults;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.KeyProvider;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.store.linux.PermissionFinding;
import io.msiagent.store.windows.KeyProtectionDiagnostics;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code doctor}: every check users tripped over, one {@code PASS|WARN|FAIL <check>: <detail>} line
 * each (a JSON array of {@code {check, result, detail}} with {@code --json}); exit 1 if any FAIL.
 * Never issues a certificate and never writes the store (it may take and release the store's lock).
 */
@Command(name = "doctor", description = "Every check, one PASS/WARN/FAIL line each; exit 1 if any FAIL.")
final class DoctorCommand implements Callable<Integer> {
    static final Duration SKEW_WARN = Duration.ofSeconds(30);
    static final Duration SKEW_FAIL = Duration.ofMinutes(5);

    @ParentCommand
    MsiAgentCommand root;

    /** One line of the report. */
    record Check(String check, String result, String detail) {
        static Check pass(String check, String detail) {
            return new Check(check, "PASS", detail);
        }

        static Check warn(String check, String detail) {
            return new Check(check, "WARN", detail);
        }

        static Check fail(String check, String detail) {
            return new Check(check, "FAIL", detail);
        }
    }

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        ManagedIdentityId identity = setup.identity();
        List<Check> checks = new ArrayList<>();
        ImdsProbe probe = ImdsProbe.run(root.imdsEndpoint(), identity);
        checks.add(imdsReachable(probe));
        checks.add(imdsV2(probe));
        checks.add(ProxyCheck.check(root.io().env(), System.getProperties()));
        checks.add(clockSkew(probe));
        Check permissions = storePermissions(setup);
        checks.add(permissions);
        checks.add(storeLocks(setup));
        checks.add(leftoverTempFiles(setup));
        MtlsCredential stored = null;
        try {
            LoadResult r = setup.store().inspect(identity);
            stored = r.credential().orElse(null);
            checks.add(credential(r, setup, permissions.result().equals("FAIL")));
        } catch (StoreException e) {
            checks.add(Check.fail("credential", e.getMessage()));
        }
        checks.add(keyProtection());
        checks.addAll(windowsKeyChecks(stored));
        checks.add(tlsVersions(stored));
        checks.add(attestation(PlatformDefaults.keyAttestor(), stored));
        checks.add(tokenEndpoint(setup, stored));
        print(checks);
        return checks.stream().anyMatch(c -> c.result().equals("FAIL")) ? ExitCodes.RENEW_DUE_OR_CHECK_FAILED : ExitCodes.OK;
    }

    private void print(List<Check> checks) {
        if (root.json) {
            List<Map<String, String>> list = new ArrayList<>();
            for (Check c : checks) {
                Map<String, String> m = new LinkedHashMap<>();
                m.put("check", c.check());
                m.put("result", c.result());
                m.put("detail", c.detail());
                list.add(m);
            }
            Output.printJson(root.io().out(), list);
        } else {
            for (Check c : checks) {
                root.io().out().println(c.result() + " " + c.check() + ": " + c.detail());
            }
            root.io().out().flush();
        }
    }

    static Check imdsReachable(ImdsProbe p) {
        if (p.failure() != null) {
            return Check.fail("imds-reachable", p.endpoint() + " did not answer: " + p.failure());
        }
        return Check.pass("imds-reachable", p.endpoint() + " answered HTTP " + p.status() + " in " + p.latency().toMillis() + " ms");
    }

    static Check imdsV2(ImdsProbe p) {
        if (p.failure() != null) {
            return Check.fail("imds-v2", "unknown: IMDS is not reachable");
        }
        String ids = " (x-ms-client-request-id " + p.clientRequestId() + (p.serverRequestId() != null ? ", x-ms-request-id "
                + p.serverRequestId() : "") + ")";
        if (p.status() == 200 && p.server() != null && p.server().toLowerCase(java.util.Locale.ROOT).contains("imds")) {
            return Check.pass("imds-v2", "getplatformmetadata answered 200 (Server: " + p.server() + ")");
        }
        if (p.status() == 200) {
            return Check.fail("imds-v2", "getplatformmetadata answered 200 but 'Server: " + p.server()
                    + "' is not IMDS: something (a proxy?) answers in its place" + ids);
        }
        if (p.status() == 404) {
            return Check.fail("imds-v2", "getplatformmetadata answered 404: this host offers IMDS v1 only" + ids);
        }
        if (p.status() == 400 || p.status() == 403) {
            return Check.fail("imds-v2", "getplatformmetadata answered " + p.status() + ": is the identity assigned to this VM?" + ids);
        }
        return Check.warn("imds-v2", "getplatformmetadata answered HTTP " + p.status() + ids);
    }

    static Check clockSkew(ImdsProbe p) {
        if (p.serverDate() == null) {
            return Check.warn("clock-skew", p.failure() != null ? "unknown: IMDS is not reachable" : "unknown: IMDS sent no Date header");
        }
        Duration skew = Duration.between(p.serverDate(), p.localDate());
        String detail = "local clock " + (skew.isNegative() ? "behind" : "ahead of") + " IMDS by " + Durations.human(skew.abs())
                + " (Date header, 1 s resolution)";
        if (skew.abs().compareTo(SKEW_FAIL) > 0) {
            return Check.fail("clock-skew", detail + ": more than the 5 min tolerance; fix NTP");
        }
        return skew.abs().compareTo(SKEW_WARN) > 0 ? Check.warn("clock-skew", detail) : Check.pass("clock-skew", detail);
    }

    static Check storePermissions(Setup setup) {
        if (!(setup.store().delegate() instanceof LinuxCredentialStore linux)) {
            return Check.pass("store-permissions", "store " + setup.store().location(setup.identity()) + " (ACLs are the platform's)");
        }
        List<PermissionFinding> findings = linux.checkPermissions();
        if (findings.isEmpty()) {
            if (Files.exists(linux.directory(), LinkOption.NOFOLLOW_LINKS)) {
                return Check.pass("store-permissions", linux.directory() + ": directory 0700, files 0600, owned by this user, no symlinks");
            }
            Path existing = linux.directory().toAbsolutePath();
            while (existing.getParent() != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (!Files.isDirectory(existing) || !Files.isWritable(existing)) {
                return Check.fail("store-permissions", linux.directory() + " does not exist and cannot be created: " + existing
                        + (Files.isDirectory(existing) ? " is not writable by this user" : " is not a directory"));
            }
            return Check.pass("store-permissions", linux.directory() + " does not exist yet (it is created 0700 on the first save)");
        }
        boolean error = findings.stream().anyMatch(f -> f.severity() == PermissionFinding.Severity.ERROR);
        List<Path> repairedByALoad = List.of(linux.directory(), linux.pemFile(setup.identity()), linux.metadataFile(setup.identity()),
                linux.pkcs12File(setup.identity()), linux.lockFile(setup.identity()));
        String detail = String.join("; ", findings.stream().map(f -> f.path() + ": " + f.problem()
                + advice(f, linux.directory(), repairedByALoad)).toList());
        return error ? Check.fail("store-permissions", detail) : Check.warn("store-permissions", detail);
    }

    /**
     * A too-open mode on this identity's entry (and the directory) is repaired by whichever command
     * loads it next; other files in the store (quarantined ones, other identities') and the
     * directories above it are the user's to fix.
     */
    private static String advice(PermissionFinding f, Path storeDir, List<Path> repairedByALoad) {
        if (f.severity() == PermissionFinding.Severity.ERROR) {
            return "";
        }
        if (repairedByALoad.contains(f.path())) {
            return " (repaired by the next acquire, token or agent start)";
        }
        if (!f.path().startsWith(storeDir)) {
            return " (msi-agent never changes it: fix it, or give the store another --store-dir)";
        }
        String name = f.path().getFileName().toString();
        if (name.contains(".corrupt-")) {
            return " (a quarantined file, never repaired: chmod 600 it, or remove it)";
        }
        if (name.endsWith(".pem") || name.endsWith(".json") || name.endsWith(".pfx")) {
            return " (another identity's entry: repaired when that identity's credential is next loaded)";
        }
        return name.endsWith(".lock") ? " (another identity's lock: repaired when that identity's lock is next taken)"
                : " (not one msi-agent repairs: chmod 600 it, or remove it)";
    }

    static Check storeLocks(Setup setup) {
        if (setup.store().delegate() instanceof LinuxCredentialStore linux) {
            try {
                return linux.lockHolder(setup.identity())
                        .map(holder -> Check.warn("store-lock", "busy: held by " + holder + " (an agent or another process is renewing now)"))
                        .orElseGet(() -> Check.pass("store-lock", "free (a held lock dies with its process: it cannot go stale)"));
            } catch (StoreException e) {
                return Check.warn("store-lock", e.getMessage());
            }
        }
        try (StoreLock lock = setup.store().lock(setup.identity(), Duration.ofMillis(300))) {
            return Check.pass("store-lock", "free (a held lock dies with its process: it cannot go stale)");
        } catch (StoreException e) {
            return Check.warn("store-lock", "busy: " + e.getMessage() + " (an agent or another process is renewing now)");
        }
    }

    /** Temp files of an atomic write (".tmp-" in the name) older than a minute: a writer crashed mid-save. */
    static Check leftoverTempFiles(Setup setup) {
        Path dir = setup.storeDirectory();
        if (dir == null || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Check.pass("store-temp-files", "none");
        }
        Instant old = Instant.now().minus(Duration.ofMinutes(1));
        try (var files = Files.list(dir)) {
            List<String> leftovers = files.filter(p -> p.getFileName().toString().contains(".tmp-")).filter(p -> {
                try {
                    return Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(old);
                } catch (java.io.IOException e) {
                    return false;
                }
            }).map(Path::toString).toList();
            return leftovers.isEmpty() ? Check.pass("store-temp-files", "none")
                    : Check.warn("store-temp-files", "left by an interrupted save (safe to delete): " + String.join(", ", leftovers));
        } catch (java.io.IOException e) {
            return Check.warn("store-temp-files", dir + ": cannot list (" + e.getMessage() + ")");
        }
    }

    /** {@code storeRefused}: store-permissions failed, so acquire refuses the store rather than replacing its entry. */
    static Check credential(LoadResult r, Setup setup, boolean storeRefused) {
        Instant now = Instant.now();
        switch (r.kind()) {
            case FOUND: {
                MtlsCredential c = r.credential().orElseThrow();
                CredentialState state = c.stateAt(now);
                String detail = state + " " + c.x5tS256() + ": " + StatusCommand.describe(c, state, now);
                return switch (state) {
                    case FRESH -> Check.pass("credential", detail);
                    case RENEW_DUE -> Check.warn("credential", detail + " (is the agent running?)");
                    default -> Check.warn("credential", detail + "; the next acquire renews it");
                };
            }
            case INVALID:
                return Check.fail("credential", "INVALID: " + r.problem() + (r.isLeftInPlace()
                        ? " (another msi-agent version's entry: this version neither reads nor replaces it; run that version, or give this"
                                + " one its own --store-dir)"
                        : storeRefused ? " (acquire refuses the store until what store-permissions names is fixed)"
                        : " (acquire quarantines it and gets a new one)"));
            default:
                return Check.warn("credential", "MISSING: nothing stored at " + setup.store().location(setup.identity())
                        + " (run acquire or the agent)");
        }
    }

    static Check keyProtection() {
        KeyProvider provider = PlatformDefaults.keyProvider();
        KeyProtection level = provider.bestAvailableProtection();
        String detail = level + " from key provider '" + provider.name() + "'";
        return level == KeyProtection.SOFTWARE
                ? Check.warn("key-protection", detail + ": the private key is software (0600 file); no TPM/KeyGuard provider here")
                : Check.pass("key-protection", detail + ": non-exportable");
    }

    /** On Windows: VBS/KeyGuard, the TPM and its RSA-PSS support, the stored key's sign probe. Elsewhere none. */
    static List<Check> windowsKeyChecks(MtlsCredential stored) {
        return KeyProtectionDiagnostics.forThisMachine()
                .map(windows -> windows.findings(stored).stream()
                        .map(f -> new Check(f.check(), f.result().name(), f.detail())).toList())
                .orElse(List.of());
    }

    /**
     * TLS 1.3 needs an RSA-PSS CertificateVerify; a credential whose key cannot sign RSA-PSS (many
     * TPMs) is TLS 1.2 only, which an application with its own SSLContext must know.
     */
    static Check tlsVersions(MtlsCredential stored) {
        if (stored == null) {
            return Check.warn("tls-versions", "skipped: no stored credential");
        }
        return stored.tlsRestriction()
                .map(why -> Check.warn("tls-versions", "credential " + stored.x5tS256() + " is " + why
                        + "; msi-agent's own connections use TLS 1.2, an SSLContext of your own must too"
                        + " (CredentialTlsContext.wrap)"))
                .orElseGet(() -> Check.pass("tls-versions", "credential " + stored.x5tS256()
                        + " authenticates over TLS 1.3 and 1.2 (its key signs RSA-PSS)"));
    }

    /** Whether attestation is available here and, for a stored credential, why it is or is not attested. */
    static Check attestation(Optional<KeyAttestor> attestor, MtlsCredential stored) {
        String reason; // null: attestation is available here
        if (attestor.isEmpty()) {
            reason = "no key attestor on this platform";
        } else {
            String unavailable = attestor.get().unavailableReason();
            reason = unavailable == null ? null : "'" + attestor.get().name() + "' unavailable: " + unavailable;
        }
        if (stored == null) {
            return reason == null ? Check.pass("attestation", "available ('" + attestor.orElseThrow().name() + "')")
                    : Check.warn("attestation", reason + ": credentials are unattested, tokens bearer over mTLS");
        }
        if (stored.attested()) {
            return Check.pass("attestation", "credential " + stored.x5tS256() + " is attested (" + stored.keyProtection() + " key)");
        }
        String why;
        if (reason != null) {
            why = reason;
        } else if (stored.keyProtection() != KeyProtection.KEYGUARD) {
            why = "its key is " + stored.keyProtection() + "; only KeyGuard keys can be attested";
        } else {
            why = "it was issued while attestation was unavailable; the next renewal is attested";
        }
        return Check.warn("attestation", "credential " + stored.x5tS256() + " is unattested: " + why
                + " (tokens bearer over mTLS)");
    }

    private Check tokenEndpoint(Setup setup, MtlsCredential stored) {
        if (stored == null || !Instant.now().isBefore(stored.notAfter())) {
            return Check.warn("token-endpoint", "skipped: no valid stored credential to handshake with");
        }
        try (MsiCredentialCache cache = setup.newCache()) {
            URI uri = URI.create(stored.tokenEndpoint());
            Duration took = TlsProbe.handshake(uri, stored, cache.trustManager());
            return Check.pass("token-endpoint", "mutual TLS handshake with " + uri.getHost() + ":" + TlsProbe.port(uri) + " in "
                    + took.toMillis() + " ms, client certificate " + stored.x5tS256());
        } catch (Exception e) {
            return Check.fail("token-endpoint", stored.tokenEndpoint() + ": " + Failures.describe(e));
        }
    }
}
