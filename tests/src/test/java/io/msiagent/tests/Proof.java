package io.msiagent.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.tests.child.ChildJvm;
import io.msiagent.tests.child.Stack;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Shared pieces of the proof suites: one emulator CA per test JVM (RSA keygen is slow), emulators, caches, children. */
final class Proof {
    static final EmulatorCa CA = EmulatorCa.generate(Clock.systemUTC());
    static final ObjectMapper JSON = new ObjectMapper();
    static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();

    private Proof() {
    }

    static ImdsEmulator emulator(Duration certLifetime) {
        return ImdsEmulator.start(EmulatorConfig.builder().ca(CA).certLifetime(certLifetime).build());
    }

    /**
     * A cache on the emulator and a store in {@code dir}; IMDS retries without back-off waits. The
     * call deadline (20 s) is longer than the retry table's nominal back-off, so the whole table runs.
     */
    static MsiCredentialCache.Builder fastCache(ImdsEmulator emu, Path dir) {
        return MsiCredentialCache.builder()
                .imdsClient(Stack.imds(emu.imdsEndpoint(), Duration.ofSeconds(20), true))
                .store(Stack.store(dir, false))
                .keyAttestor(null)
                .trustedCertificates(List.of(emu.caCertificate()));
    }

    /** The thumbprint of what is on disk now, read by a fresh store object. */
    static String storedX5t(Path dir) {
        LoadResult r = Stack.store(dir, false).inspect(SYSTEM);
        return r.credential().map(MtlsCredential::x5tS256).orElse(null);
    }

    static Path caFile(ImdsEmulator emu, Path dir) throws IOException {
        Path f = dir.resolve("emulator-ca.pem");
        Stack.writeCa(f, emu.caPem());
        return f;
    }

    static List<String> childArgs(String mode, ImdsEmulator emu, Path caFile, Path store, String... extra) {
        List<String> a = new ArrayList<>(List.of(mode, "imds=" + emu.imdsEndpoint(), "ca=" + caFile, "store=" + store));
        a.addAll(List.of(extra));
        return a;
    }

    static ChildJvm child(Path work, List<String> args) throws IOException {
        return ChildJvm.start(work, List.of(), Map.of(), args.toArray(String[]::new));
    }

    /** Runs a child to completion and returns its JSON; fails with its stderr when it failed. */
    static JsonNode runChild(Path work, List<String> args, long seconds) throws Exception {
        ChildJvm c = child(work, args);
        String out = c.await(seconds);
        return parse(c, out);
    }

    static JsonNode parse(ChildJvm c, String out) throws IOException {
        String last = out.strip();
        int nl = last.lastIndexOf('\n');
        last = nl >= 0 ? last.substring(nl + 1) : last;
        if (last.isEmpty()) {
            throw new AssertionError("child printed nothing (exit " + c.exitCode() + "); stderr:\n" + c.stderr());
        }
        JsonNode n = JSON.readTree(last);
        if (n.has("error")) {
            throw new AssertionError("child failed: " + n.get("error").asText() + "\nstderr:\n" + c.stderr());
        }
        return n;
    }
}
