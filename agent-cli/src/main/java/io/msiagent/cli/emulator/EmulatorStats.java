package io.msiagent.cli.emulator;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counters of what the emulator saw and did, for assertions in end-to-end tests. Every request to
 * an emulated path counts as a call (faulted or rejected ones too); per identity only when the
 * request names a known identity.
 */
public final class EmulatorStats {
    private final Map<EmulatorPath, Long> calls = new EnumMap<>(EmulatorPath.class);
    private final Map<String, Map<String, Long>> identities = new TreeMap<>();
    private final Map<EmulatorPath, Long> faults = new EnumMap<>(EmulatorPath.class);
    private long certificatesIssued;
    private long tokensIssued;

    synchronized void call(EmulatorPath path, EmulatedIdentity identity) {
        calls.merge(path, 1L, Long::sum);
        if (identity != null) {
            perIdentity(identity).merge(path.wireName(), 1L, Long::sum);
        }
    }

    synchronized void certificateIssued(EmulatedIdentity identity) {
        certificatesIssued++;
        perIdentity(identity).merge("certificates", 1L, Long::sum);
    }

    synchronized void tokenIssued(EmulatedIdentity identity) {
        tokensIssued++;
        perIdentity(identity).merge("tokens", 1L, Long::sum);
    }

    synchronized void faultInjected(EmulatorPath path) {
        faults.merge(path, 1L, Long::sum);
    }

    synchronized void reset() {
        calls.clear();
        identities.clear();
        faults.clear();
        certificatesIssued = 0;
        tokensIssued = 0;
    }

    private Map<String, Long> perIdentity(EmulatedIdentity identity) {
        return identities.computeIfAbsent(identity.clientId(), k -> new TreeMap<>());
    }

    /** A consistent copy of every counter. */
    public synchronized Snapshot snapshot() {
        Map<String, Long> c = new LinkedHashMap<>();
        Map<String, Long> f = new LinkedHashMap<>();
        for (EmulatorPath p : EmulatorPath.values()) {
            c.put(p.wireName(), calls.getOrDefault(p, 0L));
            f.put(p.wireName(), faults.getOrDefault(p, 0L));
        }
        Map<String, Map<String, Long>> ids = new TreeMap<>();
        identities.forEach((k, v) -> ids.put(k, Map.copyOf(v)));
        return new Snapshot(Map.copyOf(c), Map.copyOf(ids), Map.copyOf(f), certificatesIssued, tokensIssued);
    }

    /**
     * Immutable counters. {@code identities} maps a client id to counters named
     * {@code platformmetadata}, {@code issuecredential}, {@code token}, {@code certificates}, {@code tokens}.
     */
    public record Snapshot(Map<String, Long> calls, Map<String, Map<String, Long>> identities,
            Map<String, Long> faultsInjected, long certificatesIssued, long tokensIssued) {

        public long calls(EmulatorPath path) {
            return calls.getOrDefault(path.wireName(), 0L);
        }

        public long calls(EmulatorPath path, String clientId) {
            return identities.getOrDefault(clientId, Map.of()).getOrDefault(path.wireName(), 0L);
        }

        public long certificatesIssued(String clientId) {
            return identities.getOrDefault(clientId, Map.of()).getOrDefault("certificates", 0L);
        }

        public long tokensIssued(String clientId) {
            return identities.getOrDefault(clientId, Map.of()).getOrDefault("tokens", 0L);
        }

        public long faultsInjected(EmulatorPath path) {
            return faultsInjected.getOrDefault(path.wireName(), 0L);
        }

        public long totalFaultsInjected() {
            return faultsInjected.values().stream().mapToLong(Long::longValue).sum();
        }
    }
}
