package io.msiagent.tests.child;

import io.msiagent.core.CredentialEvent;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.imds.ImdsClient;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The library in a fresh JVM, for the multi-process suites and the cold-start harness. Usage:
 * {@code ProofChild <mode> key=value...}; prints exactly one JSON object on stdout (logs go to
 * stderr) and exits 0, or prints {@code {"error": ...}} and exits 1.
 *
 * <ul>
 * <li>{@code acquire imds= ca= store= [ready=] [readTimeout=PT10S]}: build a cache, {@code get()}; timings from before
 * {@code builder()} to the usable credential. With {@code ready=DIR} it first writes {@code DIR/<pid>}
 * and waits for a byte on stdin: a start barrier for many processes ({@link ChildJvm#signal}).</li>
 * <li>{@code firsttoken imds= ca= store= [resource=]}: a fresh process's first access token.</li>
 * <li>{@code renew imds= ca= store= timeout=}: acquire, then wait for the background renewal.</li>
 * <li>{@code refresh imds= ca= store=}: acquire, force one renewal, and report what is served and what status says.</li>
 * <li>{@code rotate imds= ca= store= threads= refreshes=}: callers hammer {@code get()} and
 * {@code acquireToken} while the main thread forces rotations; counts failures.</li>
 * <li>{@code churn imds= ca= store=}: force renewals forever (the SIGKILL suite kills it).</li>
 * <li>{@code load store=}: what a fresh process finds in the store, and whether key and certificate match.</li>
 * </ul>
 */
public final class ProofChild {
    private ProofChild() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            opts.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        int exit = 0;
        try {
            switch (args[0]) {
                case "acquire" -> acquire(t0, opts, out);
                case "firsttoken" -> firstToken(t0, opts, out);
                case "renew" -> renew(opts, out);
                case "refresh" -> refresh(opts, out);
                case "rotate" -> rotate(opts, out);
                case "churn" -> churn(opts);
                case "load" -> load(t0, opts, out);
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        } catch (RuntimeException e) {
            out.put("error", e.getClass().getName() + ": " + e.getMessage());
            exit = 1;
        }
        print(System.out, out);
        System.exit(exit);
    }

    private static MsiCredentialCache.Builder builder(Map<String, String> opts) throws Exception {
        X509Certificate ca = Stack.readCertificate(Path.of(opts.get("ca")));
        return Stack.cache(opts.get("imds"), ca, Path.of(opts.get("store")));
    }

    private static void acquire(long t0, Map<String, String> opts, Map<String, Object> out) throws Exception {
        if (opts.containsKey("ready")) {
            Files.writeString(Path.of(opts.get("ready")).resolve(Long.toString(ProcessHandle.current().pid())), "");
            System.in.read(); // blocks until the parent writes the start signal (or closes stdin)
        }
        long t1 = System.nanoTime();
        // No extra trusted CA: nothing here calls the token endpoint, and parsing one before t1 would
        // load the JDK's X.509 and provider classes outside the measured span (a user has no CA to parse).
        MsiCredentialCache.Builder b = Stack.cache(opts.get("imds"), null, Path.of(opts.get("store")));
        if (opts.containsKey("readTimeout")) { // an IMDS made slow on purpose must not be retried
            b.imdsClient(ImdsClient.builder().endpoint(opts.get("imds")).readTimeout(Duration.parse(opts.get("readTimeout")))
                    .callDeadline(Duration.ofSeconds(60)).build());
        }
        MsiCredentialCache cache = b.build();
        long t2 = System.nanoTime();
        long getStartedAtMillis = System.currentTimeMillis();
        MtlsCredential c = cache.get();
        long t3 = System.nanoTime();
        // What a first handshake needs: a stored credential's certificate and key as JDK objects (decoded
        // by the cache on its worker right after get() returned, or here if that has not finished).
        c.certificate();
        c.privateKey();
        long t4 = System.nanoTime();
        describe(c, out);
        out.put("getStartedAtMillis", getStartedAtMillis);
        out.put("buildMillis", (t2 - t1) / 1e6);
        out.put("getMillis", (t3 - t2) / 1e6);
        out.put("builderToCredentialMillis", (t3 - t1) / 1e6);
        out.put("builderToDecodedMillis", (t4 - t1) / 1e6);
        out.put("mainToCredentialMillis", (t3 - t0) / 1e6);
        out.put("keyMatches", Stack.keyMatchesCertificate(c));
        cache.close();
    }

    private static void firstToken(long t0, Map<String, String> opts, Map<String, Object> out) throws Exception {
        X509Certificate ca = Stack.readCertificate(Path.of(opts.get("ca")));
        long t1 = System.nanoTime();
        try (MsiCredentialCache cache = Stack.cache(opts.get("imds"), ca, Path.of(opts.get("store"))).build()) {
            MtlsCredential c = cache.get();
            long t2 = System.nanoTime();
            String bound = cache.acquireToken(opts.getOrDefault("resource", "https://management.azure.com")).x5tS256();
            long t3 = System.nanoTime();
            out.put("x5t", c.x5tS256());
            out.put("tokenBoundToCredential", c.x5tS256().equals(bound));
            out.put("builderToCredentialMillis", (t2 - t1) / 1e6);
            out.put("builderToTokenMillis", (t3 - t1) / 1e6);
            out.put("mainToTokenMillis", (t3 - t0) / 1e6);
        }
    }

    private static void renew(Map<String, String> opts, Map<String, Object> out) throws Exception {
        long timeout = Long.parseLong(opts.getOrDefault("timeout", "60"));
        CountDownLatch renewed = new CountDownLatch(1);
        AtomicReference<CredentialEvent> event = new AtomicReference<>();
        AtomicLong failures = new AtomicLong();
        java.util.List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (MsiCredentialCache cache = builder(opts).build()) {
            cache.addListener(e -> {
                events.add(e.type() + "@" + e.time().toEpochMilli() + (e.credential() != null ? " gen " + e.credential().generation() : ""));
                if (e.type() == CredentialEvent.Type.RENEWED && event.compareAndSet(null, e)) {
                    renewed.countDown();
                } else if (e.type() == CredentialEvent.Type.RENEWAL_FAILED) {
                    failures.incrementAndGet();
                }
            });
            MtlsCredential before = cache.get();
            out.put("before", summary(before));
            if (!renewed.await(timeout, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no renewal within " + timeout + " s");
            }
            out.put("renewedAtMillis", System.currentTimeMillis());
            out.put("eventMillis", event.get().time().toEpochMilli());
            out.put("after", summary(event.get().credential()));
            out.put("served", cache.get().x5tS256());
            out.put("failures", failures.get());
            out.put("events", String.join("; ", events));
            LoadResult stored = Stack.store(Path.of(opts.get("store")), false).load(ManagedIdentityId.systemAssigned());
            out.put("stored", stored.credential().map(MtlsCredential::x5tS256).orElse(null));
        }
    }

    /** One forced renewal: what was served before and after, and what {@code status()} then says. */
    private static void refresh(Map<String, String> opts, Map<String, Object> out) throws Exception {
        try (MsiCredentialCache cache = builder(opts).build()) {
            out.put("before", cache.get().x5tS256());
            out.put("renewed", cache.refresh().x5tS256());
            out.put("served", cache.get().x5tS256());
            out.put("reasons", String.join("; ", cache.status().reasons()));
        }
    }

    private static void rotate(Map<String, String> opts, Map<String, Object> out) throws Exception {
        int threads = Integer.parseInt(opts.getOrDefault("threads", "8"));
        int refreshes = Integer.parseInt(opts.getOrDefault("refreshes", "5"));
        String resource = "https://management.azure.com";
        AtomicLong calls = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        AtomicReference<String> firstFailure = new AtomicReference<>();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        Set<String> tokenBindings = ConcurrentHashMap.newKeySet();
        try (MsiCredentialCache cache = builder(opts).build()) {
            cache.get();
            CountDownLatch stop = new CountDownLatch(1);
            Thread[] workers = new Thread[threads];
            for (int i = 0; i < threads; i++) {
                workers[i] = new Thread(() -> {
                    while (stop.getCount() > 0) {
                        try {
                            // a paced caller (about 400 calls/s each), not a spin loop starving the renewal of CPU
                            Thread.sleep(2);
                            MtlsCredential c = cache.get();
                            seen.add(c.x5tS256());
                            tokenBindings.add(cache.acquireToken(resource).x5tS256());
                            calls.incrementAndGet();
                        } catch (InterruptedException e) {
                            return;
                        } catch (RuntimeException e) {
                            failures.incrementAndGet();
                            firstFailure.compareAndSet(null, e.toString());
                        }
                    }
                }, "caller-" + i);
                workers[i].start();
            }
            for (int r = 0; r < refreshes; r++) {
                cache.refresh();
            }
            stop.countDown();
            for (Thread w : workers) {
                w.join(30_000);
            }
            out.put("calls", calls.get());
            out.put("failures", failures.get());
            out.put("firstFailure", firstFailure.get());
            out.put("generationsSeen", seen.size());
            out.put("tokenBindingsSeen", tokenBindings.size());
            out.put("finalGeneration", cache.get().generation());
            out.put("keyMatches", Stack.keyMatchesCertificate(cache.get()));
        }
    }

    private static void churn(Map<String, String> opts) throws Exception {
        try (MsiCredentialCache cache = builder(opts).prepareKeys(false).build()) {
            cache.get();
            System.out.println("{\"ready\":true}");
            System.out.flush();
            while (true) {
                System.out.println("{\"generation\":" + cache.refresh().generation() + "}");
                System.out.flush();
            }
        }
    }

    private static void load(long t0, Map<String, String> opts, Map<String, Object> out) {
        long t1 = System.nanoTime();
        LinuxCredentialStore store = Stack.store(Path.of(opts.get("store")), false);
        LoadResult r = store.load(ManagedIdentityId.systemAssigned());
        long t2 = System.nanoTime();
        out.put("storeLoadMillis", (t2 - t1) / 1e6);
        out.put("mainToLoadedMillis", (t2 - t0) / 1e6);
        out.put("kind", r.kind().name());
        out.put("problem", r.problem());
        r.credential().ifPresent(c -> {
            describe(c, out);
            out.put("keyMatches", Stack.keyMatchesCertificate(c));
        });
    }

    private static void describe(MtlsCredential c, Map<String, Object> out) {
        out.putAll(summary(c));
    }

    private static Map<String, Object> summary(MtlsCredential c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("x5t", c.x5tS256());
        m.put("generation", c.generation());
        m.put("notBeforeMillis", c.notBefore().toEpochMilli());
        m.put("notAfterMillis", c.notAfter().toEpochMilli());
        m.put("renewAtMillis", c.renewAt().toEpochMilli());
        return m;
    }

    /** Minimal JSON for flat maps of strings, numbers, booleans and nested flat maps. */
    static void print(PrintStream ps, Map<String, Object> m) {
        ps.println(json(m));
        ps.flush();
    }

    @SuppressWarnings("unchecked")
    private static String json(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof Map<?, ?> map) {
            StringBuilder b = new StringBuilder("{");
            for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
                if (b.length() > 1) {
                    b.append(',');
                }
                b.append(json(e.getKey())).append(':').append(json(e.getValue()));
            }
            return b.append('}').toString();
        }
        String s = v.toString();
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') {
                b.append('\\').append(ch);
            } else if (ch < 0x20) {
                b.append(String.format("\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.append('"').toString();
    }
}
