package io.msiagent.tests.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * The handshake comparison of {@link HandshakeBenchmark}, interleaved: one full mutual-TLS
 * handshake with each key manager in turn, round after round, so that load from other processes
 * on a shared machine falls on all of them alike; medians per key manager and their ratio.
 *
 * <pre>
 * java -cp "$(cat tests/target/bench.classpath):tests/target/classes" io.msiagent.tests.bench.HandshakeInterleaved [rounds=400]
 * </pre>
 */
public final class HandshakeInterleaved {
    private HandshakeInterleaved() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0].replace("rounds=", "")) : 400;
        int warmup = 200;
        try (TlsPeers peers = new TlsPeers()) {
            Map<String, SSLContext> clients = new LinkedHashMap<>();
            clients.put("MsiCredentialCache.keyManager()", peers.clientWithCacheKeyManager());
            clients.put("SunX509 over PKCS#12", peers.clientWithKeyStore("SunX509"));
            clients.put("NewSunX509 over PKCS#12", peers.clientWithKeyStore("NewSunX509"));
            Map<String, List<Double>> times = new LinkedHashMap<>();
            clients.keySet().forEach(k -> times.put(k, new ArrayList<>()));
            for (int r = 0; r < warmup + rounds; r++) {
                for (Map.Entry<String, SSLContext> c : clients.entrySet()) {
                    long t0 = System.nanoTime();
                    if (!peers.handshake(c.getValue()).equals(peers.credential.certificate())) {
                        throw new IllegalStateException("wrong client certificate");
                    }
                    long t1 = System.nanoTime();
                    if (r >= warmup) {
                        times.get(c.getKey()).add((t1 - t0) / 1e6);
                    }
                }
            }
            double reference = median(times.get("MsiCredentialCache.keyManager()"));
            System.out.println("JDK " + System.getProperty("java.vm.version") + "; " + rounds + " interleaved rounds after " + warmup
                    + " warm-up; in-memory SSLEngine pair, TLS 1.3, RSA-2048 client and server keys, no resumption");
            System.out.println();
            System.out.println("| Client key manager | median ms | p10 ms | p90 ms | ours / this |");
            System.out.println("|---|---|---|---|---|");
            times.forEach((k, v) -> System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %.3f | %.3f |%n", k, median(v), pct(v, 10),
                    pct(v, 90), reference / median(v)));
        }
    }

    private static double median(List<Double> v) {
        return pct(v, 50);
    }

    private static double pct(List<Double> v, int p) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get(Math.max(0, (int) Math.ceil(p / 100.0 * s.size()) - 1));
    }
}
