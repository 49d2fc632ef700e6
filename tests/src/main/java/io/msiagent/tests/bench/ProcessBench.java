package io.msiagent.tests.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.tests.child.ChildJvm;
import io.msiagent.tests.child.ProofChild;
import io.msiagent.tests.child.Stack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Process-level timings, printed as a Markdown table (docs/BENCHMARKS.md): fresh JVMs, interleaved
 * so that load changes hit every row alike.
 *
 * <pre>
 * java -cp "$(cat tests/target/bench.classpath):tests/target/classes" io.msiagent.tests.bench.ProcessBench [runs=15] \
 *      [agentJar=$PWD/agent-cli/target/msi-agent.jar] [launcher=$PWD/packaging/bin/msi-agent] [keep=true: leave the work directory]
 * </pre>
 *
 * Rows: msi-agent cold start on a warm store (in-process, from {@code builder()} to the usable
 * credential; and from {@code main} entry), a fresh process's first token (ours: store + one mTLS
 * token call; msal4j 1.26.0: one IMDS v1 call), process wall times, {@code msi-agent status} wall
 * time when the jar is given, the yardsticks (the JDK alone parsing the PEM, and building an
 * SSLContext), the floor under a checked start ({@link ThumbprintFloor}), the floor of a lean
 * serving path ({@link ServingPathFloor}), and a class-loading census of the cold start.
 */
public final class ProcessBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> JVM = List.of();
    private static final String BASELINE_PEM = "JDK alone, fresh JVM: parse the PEM key + certificate (in-process)";
    private static final String BASELINE_PEM_CDS = "JDK alone, fresh JVM with its own AppCDS archive: parse the PEM key + certificate (in-process)";
    private static final String DECODED = "  then until the key and certificate are JDK objects (what a first handshake needs; decoded on the cache's worker)";
    private static final String FLOOR = "floor, fresh JVM: read the PEM + metadata, SHA-256 of the certificate, no key or certificate objects (in-process)";
    private static final String PEEK_FLOOR = "floor of a lean serving path, fresh JVM: the Linux store built and peeked on the main thread, nothing else (in-process)";
    private static final String PARALLEL_FLOOR = "  the same while a second thread loads the cache class and starts an executor, until both are done";
    private static final String BASELINE_WALL = "JDK alone, fresh JVM: parse the PEM + build an SSLContext: process wall";
    private static final String COLD = "msi-agent cold start, warm store: builder() → get() returned (in-process)";
    private static final String COLD_CDS = "msi-agent cold start, warm store, with AppCDS archive: builder() → get() returned";
    private static final String STATUS_JAR = "`java -jar msi-agent.jar status` wall";
    private static final String STATUS_LAUNCHER = "`packaging/bin/msi-agent status` wall: lean JVM options + AppCDS";
    private static final String FIRST_TOKEN = "msi-agent first token, fresh process: process wall";
    private static final String MSAL_FIRST_TOKEN = "msal4j first token, fresh process: process wall";
    private static final String FIRST_TOKEN_CDS = "msi-agent first token, fresh process, with AppCDS archive: process wall";
    private static final String MSAL_FIRST_TOKEN_CDS = "msal4j first token, fresh process, with AppCDS archive: process wall";

    private ProcessBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (String a : args) {
            opts.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        int runs = Integer.parseInt(opts.getOrDefault("runs", "15"));
        String agentJar = opts.get("agentJar");
        String launcher = opts.get("launcher");
        Path work = Files.createTempDirectory("msi-process-bench");
        System.setProperty("proof.childClasspath", jarsOnly(System.getProperty("java.class.path")));
        Map<String, List<Double>> rows = new LinkedHashMap<>();
        try (ImdsEmulator emu = ImdsEmulator.start(EmulatorConfig.builder().ca(EmulatorCa.generate(Clock.systemUTC()))
                .certLifetime(Duration.ofDays(1)).build());
                ImdsV1Server v1 = ImdsV1Server.start(0)) {
            Path ca = work.resolve("ca.pem");
            Stack.writeCa(ca, emu.caPem());
            Path store = work.resolve("store");
            List<String> acquire = List.of("acquire", "imds=" + emu.imdsEndpoint(), "ca=" + ca, "store=" + store);
            List<String> load = List.of("load", "store=" + store);
            List<String> firstToken = List.of("firsttoken", "imds=" + emu.imdsEndpoint(), "ca=" + ca, "store=" + store);
            child(work, JVM, Map.of(), ProofChild.class.getName(), acquire, rows, null); // seeds the store
            // AppCDS as the launcher builds it on Java 17: one training run records the classes it loads, then a
            // static archive is dumped from that list (JDK 17's dynamic archive crashes on msal4j's lambda proxies).
            List<String> cds = staticArchive(work, "msi-agent", Map.of(), ProofChild.class.getName(), firstToken);
            // msal4j gets the same deployment help: its own archive, trained by one run.
            List<String> msalCds = staticArchive(work, "msal4j", Map.of(ImdsV1Server.ENV, v1.url()), Msal4jChild.class.getName(), List.of());
            // And the yardstick: whether class-data sharing helps the JDK's own PEM parse.
            List<String> pemArg = List.of(store.resolve("msal_mtls.pem").toString());
            List<String> yardstickCds = staticArchive(work, "yardstick", Map.of(), JdkPemBaseline.class.getName(), pemArg);
            rows.clear();
            for (int i = 0; i < runs; i++) {
                if (cds != null) {
                    JsonNode a = child(work, cds, Map.of(), ProofChild.class.getName(), acquire, rows, null);
                    add(rows, COLD_CDS, a.get("builderToCredentialMillis").asDouble());
                    add(rows, DECODED + " ", a.get("builderToDecodedMillis").asDouble());
                    add(rows, "  of which build() (the ImdsClient and the store; OkHttp, TLS and key provider wait for first use)", a.get("buildMillis").asDouble());
                    add(rows, "  of which get() (read + check PEM and metadata, publish)", a.get("getMillis").asDouble());
                    JsonNode l = child(work, cds, Map.of(), ProofChild.class.getName(), load, rows, null);
                    add(rows, "fresh JVM with AppCDS, store only: LinuxCredentialStore builder + load()", l.get("storeLoadMillis").asDouble());
                    JsonNode t = child(work, cds, Map.of(), ProofChild.class.getName(), firstToken, rows, FIRST_TOKEN_CDS);
                    add(rows, "msi-agent first token, fresh process, with AppCDS archive: builder() → token", t.get("builderToTokenMillis").asDouble());
                }
                if (msalCds != null) {
                    JsonNode m = child(work, msalCds, Map.of(ImdsV1Server.ENV, v1.url()), Msal4jChild.class.getName(), List.of(), rows,
                            MSAL_FIRST_TOKEN_CDS);
                    add(rows, "msal4j first token, fresh process, with AppCDS archive: builder() → token", m.get("builderToTokenMillis").asDouble());
                }
                JsonNode a = child(work, JVM, Map.of(), ProofChild.class.getName(), acquire, rows, "msi-agent cold start, warm store: process wall");
                add(rows, COLD, a.get("builderToCredentialMillis").asDouble());
                add(rows, DECODED, a.get("builderToDecodedMillis").asDouble());
                add(rows, "msi-agent cold start, warm store: main() → get() returned (in-process)", a.get("mainToCredentialMillis").asDouble());
                add(rows, "  of which build() (the ImdsClient and the store; OkHttp, TLS and key provider wait for first use) ", a.get("buildMillis").asDouble());
                add(rows, "  of which get() (read + check PEM and metadata, publish) ", a.get("getMillis").asDouble());
                JsonNode l = child(work, JVM, Map.of(), ProofChild.class.getName(), load, rows, null);
                add(rows, "fresh JVM, store only: LinuxCredentialStore builder + load()", l.get("storeLoadMillis").asDouble());
                JsonNode b = child(work, JVM, Map.of(), JdkPemBaseline.class.getName(), List.of(store.resolve("msal_mtls.pem").toString()),
                        rows, BASELINE_WALL);
                add(rows, BASELINE_PEM, b.get("pemMillis").asDouble());
                if (yardstickCds != null) {
                    add(rows, BASELINE_PEM_CDS, child(work, yardstickCds, Map.of(), JdkPemBaseline.class.getName(), pemArg, rows, null)
                            .get("pemMillis").asDouble());
                }
                JsonNode f = child(work, JVM, Map.of(), ThumbprintFloor.class.getName(),
                        List.of(store.resolve("msal_mtls.pem").toString(), store.resolve("msal_mtls.json").toString()), rows, null);
                if (!f.get("matches").asBoolean()) {
                    throw new IllegalStateException("the floor probe's thumbprint is not in the metadata: " + f);
                }
                add(rows, FLOOR, f.get("floorMillis").asDouble());
                add(rows, "  of which the first SHA-256 (JCA start-up included)", f.get("digestMillis").asDouble());
                add(rows, PEEK_FLOOR, child(work, JVM, Map.of(), ServingPathFloor.class.getName(), List.of("peek", store.toString()),
                        rows, null).get("floorMillis").asDouble());
                add(rows, PARALLEL_FLOOR, child(work, JVM, Map.of(), ServingPathFloor.class.getName(),
                        List.of("parallel", store.toString()), rows, null).get("floorMillis").asDouble());
                JsonNode t = child(work, JVM, Map.of(), ProofChild.class.getName(), firstToken, rows, "msi-agent first token, fresh process: process wall");
                add(rows, "msi-agent first token, fresh process: builder() → token (store + 1 mTLS call)", t.get("builderToTokenMillis").asDouble());
                JsonNode m = child(work, JVM, Map.of(ImdsV1Server.ENV, v1.url()), Msal4jChild.class.getName(), List.of(), rows,
                        "msal4j first token, fresh process: process wall");
                add(rows, "msal4j first token, fresh process: builder() → token (1 IMDS call)", m.get("builderToTokenMillis").asDouble());
                if (agentJar != null) {
                    long s = System.nanoTime();
                    ChildJvm c = ChildJvm.startCommand(work, List.of(ChildJvm.javaBinary(), "-jar", agentJar, "status"),
                            Map.of("MSI_AGENT_STORE_DIR", store.toString(), "MSI_AGENT_IMDS_ENDPOINT", emu.imdsEndpoint()));
                    c.await(60);
                    requireExit(c, 0, "status");
                    add(rows, STATUS_JAR, (System.nanoTime() - s) / 1e6);
                }
                if (launcher != null) {
                    Map<String, String> env = Map.of("MSI_AGENT_STORE_DIR", store.toString(), "MSI_AGENT_IMDS_ENDPOINT", emu.imdsEndpoint(),
                            "MSI_AGENT_CDS_DIR", work.resolve("cds").toString(), "MSI_AGENT_JAR", agentJar == null ? "" : agentJar);
                    if (i == 0) {
                        // CDS training: on Java 17 the first run records the classes and the second builds the
                        // archive in the background; wait for it as a user's third run would find it.
                        for (int k = 0; k < 2; k++) {
                            ChildJvm.startCommand(work, List.of(launcher, "status"), env).await(60);
                        }
                        awaitArchive(work.resolve("cds"));
                    }
                    long s = System.nanoTime();
                    ChildJvm c = ChildJvm.startCommand(work, List.of(launcher, "status"), env);
                    c.await(60);
                    requireExit(c, 0, "launcher status");
                    add(rows, STATUS_LAUNCHER, (System.nanoTime() - s) / 1e6);
                }
            }
            Map<String, Long> census = classCensus(work, acquire);
            print(rows, runs, census, emu.stats().certificatesIssued(), v1.calls());
        } finally {
            if (!Boolean.parseBoolean(opts.getOrDefault("keep", "false"))) {
                deleteTree(work);
            }
        }
    }

    /** The work directory holds a few hundred child logs, two CDS archives and a store: not left in /tmp (keep=true keeps it). */
    private static void deleteTree(Path dir) throws java.io.IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** JVM options that map a static CDS archive of what one run of {@code main} loads, or null (with a warning) if none could be made. */
    private static List<String> staticArchive(Path work, String name, Map<String, String> env, String main, List<String> args)
            throws Exception {
        Path list = work.resolve(name + ".classlist");
        Path jsa = work.resolve(name + ".jsa");
        ChildJvm training = ChildJvm.startMain(work, List.of("-XX:DumpLoadedClassList=" + list), env, main, args.toArray(String[]::new));
        training.await(120);
        // As the launcher does: without lambda proxies, on which JDK 17's dump crashes for msal4j's classes.
        Path filtered = work.resolve(name + ".filtered.classlist");
        try (Stream<String> lines = Files.lines(list)) {
            Files.write(filtered, (Iterable<String>) lines.filter(l -> !l.startsWith("@lambda-"))::iterator);
        }
        ChildJvm dump = ChildJvm.startCommand(work, List.of(ChildJvm.javaBinary(), "-XX:+UseSerialGC", "-Xshare:dump",
                "-XX:ErrorFile=" + work.resolve("hs_err_%p.log"), "-XX:SharedClassListFile=" + filtered, "-XX:SharedArchiveFile=" + jsa, "-cp", ChildJvm.classPath()),
                Map.of());
        dump.await(300);
        if (!Files.exists(jsa)) {
            System.err.println("warning: no CDS archive for " + name + " (training exit " + training.exitCode() + ", dump exit "
                    + dump.exitCode() + "): " + dump.stderr());
            return null;
        }
        return List.of("-XX:SharedArchiveFile=" + jsa, "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
    }

    private static void requireExit(ChildJvm c, int expected, String what) throws java.io.IOException {
        if (c.exitCode() != expected) {
            throw new IllegalStateException(what + " exited " + c.exitCode() + ": " + c.stderr());
        }
    }

    /** Waits (bounded) until the launcher's background archive build has produced a .jsa. */
    private static void awaitArchive(Path cdsDir) throws Exception {
        for (int i = 0; i < 300; i++) {
            try (Stream<Path> files = Files.exists(cdsDir) ? Files.list(cdsDir) : Stream.empty()) {
                if (files.anyMatch(f -> f.getFileName().toString().endsWith(".jsa"))) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        System.err.println("warning: no CDS archive appeared in " + cdsDir + "; the launcher rows run without one");
    }

    private static JsonNode child(Path work, List<String> jvm, Map<String, String> env, String main, List<String> args,
            Map<String, List<Double>> rows, String wallRow) throws Exception {
        long s = System.nanoTime();
        ChildJvm c = ChildJvm.startMain(work, jvm, env, main, args.toArray(String[]::new));
        String out = c.await(120);
        double wall = (System.nanoTime() - s) / 1e6;
        // the JVM itself may print (e.g. CDS warnings): the child's answer is the last JSON line
        String last = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("");
        JsonNode n = last.isEmpty() ? null : JSON.readTree(last);
        if (n == null || n.has("error")) {
            throw new IllegalStateException(main + " failed: " + out + "\n" + c.stderr());
        }
        if (wallRow != null) {
            add(rows, wallRow, wall);
        }
        return n;
    }

    /** Classes loaded by one cold start, by origin (from -Xlog:class+load). */
    private static Map<String, Long> classCensus(Path work, List<String> acquire) throws Exception {
        Path log = work.resolve("classload.log");
        child(work, List.of("-Xlog:class+load=info:file=" + log), Map.of(), ProofChild.class.getName(), acquire, new LinkedHashMap<>(), null);
        Map<String, Long> byOrigin = new TreeMap<>();
        try (Stream<String> lines = Files.lines(log)) {
            lines.forEach(l -> {
                int i = l.indexOf("] ");
                String rest = i >= 0 ? l.substring(i + 2) : l;
                String cls = rest.split(" ")[0];
                String group;
                if (rest.contains("shared objects file")) {
                    group = "JDK (from the CDS archive)";
                } else if (rest.contains("source: jrt:/")) {
                    group = "JDK (not in the CDS archive): " + cls.substring(0, Math.max(cls.lastIndexOf('.'), 0)).replaceAll("^(\\w+\\.\\w+).*", "$1");
                } else if (cls.startsWith("io.msiagent")) {
                    group = "io.msiagent";
                } else if (cls.startsWith("org.bouncycastle")) {
                    group = "Bouncy Castle";
                } else if (cls.startsWith("okhttp3") || cls.startsWith("okio") || cls.startsWith("kotlin")) {
                    group = "OkHttp + Okio + Kotlin stdlib";
                } else if (cls.startsWith("com.fasterxml")) {
                    group = "Jackson";
                } else {
                    group = "other: " + cls.replaceAll("^(\\w+\\.\\w+).*", "$1");
                }
                byOrigin.merge(group, 1L, Long::sum);
            });
        }
        Map<String, Long> top = new LinkedHashMap<>();
        byOrigin.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(14)
                .forEach(e -> top.put(e.getKey(), e.getValue()));
        top.put("TOTAL", byOrigin.values().stream().mapToLong(Long::longValue).sum());
        return top;
    }

    /** CDS archives only take jars: a {@code target/classes} entry is replaced by the module's packaged jar. */
    private static String jarsOnly(String classPath) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        for (String e : classPath.split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isDirectory(p) && p.endsWith(Path.of("target", "classes"))) {
                try (Stream<Path> jars = Files.list(p.getParent())) {
                    Path jar = jars.filter(j -> j.getFileName().toString().matches("tests-.*(?<!-tests)\\.jar")).findFirst()
                            .orElseThrow(() -> new IllegalStateException("run `mvn -pl tests -am package -DskipTests` first: no jar beside " + p));
                    out.add(jar.toString());
                }
            } else {
                out.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private static void add(Map<String, List<Double>> rows, String row, double v) {
        rows.computeIfAbsent(row, k -> new ArrayList<>()).add(v);
    }

    private static void print(Map<String, List<Double>> rows, int runs, Map<String, Long> census, long issued, long v1Calls) {
        System.out.println("JDK " + System.getProperty("java.vm.version") + " (" + System.getProperty("java.vm.name") + "), "
                + Runtime.getRuntime().availableProcessors() + " CPUs, child JVM options: -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto; "
                + runs + " runs each, interleaved; emulator issued " + issued + " certificate(s) during the runs; IMDS v1 calls " + v1Calls);
        System.out.println();
        System.out.println("| Measurement | median ms | p90 ms | min ms | max ms |");
        System.out.println("|---|---|---|---|---|");
        for (Map.Entry<String, List<Double>> e : rows.entrySet()) {
            List<Double> v = new ArrayList<>(e.getValue());
            Collections.sort(v);
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", e.getKey(), pct(v, 50), pct(v, 90), v.get(0), v.get(v.size() - 1));
        }
        System.out.println();
        System.out.println("| Ratio of medians, same run (the issue's targets were set on a machine where the JDK-alone rows took ~47 ms and ~221 ms) | ratio | target |");
        System.out.println("|---|---|---|");
        ratio(rows, COLD, BASELINE_PEM, "≤ 0.85 (40 ms / 47 ms)");
        ratio(rows, COLD_CDS, BASELINE_PEM, "≤ 0.85 (40 ms / 47 ms)");
        ratio(rows, COLD_CDS, BASELINE_PEM_CDS, "≤ 0.85, both with an AppCDS archive");
        ratio(rows, FLOOR, BASELINE_PEM, "— (no target: the floor of a serial, checked start)");
        ratio(rows, PEEK_FLOOR, BASELINE_PEM, "— (no target: what a cold get() costs at least with today's store)");
        ratio(rows, PARALLEL_FLOOR, BASELINE_PEM, "— (no target: the best case of a lean path with the engine built alongside)");
        ratio(rows, STATUS_LAUNCHER, BASELINE_WALL, "≤ 0.90 (200 ms / 221 ms)");
        ratio(rows, STATUS_JAR, BASELINE_WALL, "≤ 0.90 (200 ms / 221 ms)");
        ratio(rows, FIRST_TOKEN, MSAL_FIRST_TOKEN, "(msal4j calls IMDS; we read the store)");
        ratio(rows, FIRST_TOKEN_CDS, MSAL_FIRST_TOKEN_CDS, "(both with an AppCDS archive)");
        System.out.println();
        System.out.println("| Classes loaded by one cold start (ProofChild acquire) | count |");
        System.out.println("|---|---|");
        census.forEach((k, n) -> System.out.println("| " + k + " | " + n + " |"));
    }

    private static void ratio(Map<String, List<Double>> rows, String ours, String yardstick, String target) {
        List<Double> a = rows.get(ours);
        List<Double> b = rows.get(yardstick);
        if (a == null || b == null) {
            return;
        }
        List<Double> sa = new ArrayList<>(a);
        List<Double> sb = new ArrayList<>(b);
        Collections.sort(sa);
        Collections.sort(sb);
        System.out.printf(Locale.ROOT, "| %s ÷ %s | %.2f | %s |%n", ours, yardstick, pct(sa, 50) / pct(sb, 50), target);
    }

    private static double pct(List<Double> sorted, int p) {
        int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(idx, sorted.size() - 1)));
    }
}
