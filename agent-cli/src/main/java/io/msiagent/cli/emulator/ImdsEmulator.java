package io.msiagent.cli.emulator;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An IMDS v2 emulator on loopback: plain-HTTP IMDS ({@code getplatformmetadata},
 * {@code issuecredential}) plus the control API on one port, and the mutual-TLS token endpoint it
 * advertises as {@code mtls_authentication_endpoint} on another. Both bind to 127.0.0.1 only.
 *
 * <pre>{@code
 * try (ImdsEmulator emu = ImdsEmulator.start(EmulatorConfig.defaults())) {
 *     emu.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 1, Fault.status(503));
 *     // point the client at emu.imdsEndpoint(), trust emu.caCertificate()
 *     assertEquals(2, emu.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
 * }
 * }</pre>
 */
public final class ImdsEmulator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ImdsEmulator.class);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final EmulatorConfig config;
    private final EmulatorCa ca;
    private final EmulatorStats stats = new EmulatorStats();
    private final Faults faults = new Faults(stats);
    private final IssuedCertificates issued = new IssuedCertificates();
    private final ExecutorService workers = Executors.newCachedThreadPool(daemonThreads("imds-emulator"));
    private final ScheduledExecutorService scheduler =
            Executors.newSingleThreadScheduledExecutor(daemonThreads("imds-emulator-delay"));
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicBoolean closing = new AtomicBoolean();
    private HttpServer http;
    private HttpsServer https;

    private ImdsEmulator(EmulatorConfig config) {
        this.config = config;
        if (config.ca() != null) {
            this.ca = config.ca();
        } else {
            this.ca = config.caDir() == null ? EmulatorCa.generate(config.clock())
                    : EmulatorCa.loadOrCreate(config.caDir(), config.clock());
        }
    }

    /** Starts both servers on 127.0.0.1 (ports 0 = ephemeral); the configured faults are queued. */
    public static ImdsEmulator start(EmulatorConfig config) {
        ImdsEmulator emulator = new ImdsEmulator(config);
        try {
            emulator.startServers();
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            emulator.close();
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot start the IMDS emulator: " + io.getMessage(), io);
            }
            throw new IllegalStateException("cannot start the IMDS emulator: " + e.getMessage(), e);
        }
        config.faults().forEach(emulator.faults::add);
        LOG.info("IMDS emulator on {} (token endpoint {}), tenant {}, {} identities", emulator.imdsEndpoint(),
                emulator.tokenEndpointBase(), config.tenantId(), config.identities().size());
        return emulator;
    }

    static {
        // The JDK HttpServer leaves Nagle's algorithm on unless told otherwise (read once, when its
        // configuration class loads): every small POST reply then waits ~40 ms for a delayed ACK on
        // loopback. Real IMDS does not; an emulator that did would distort every timing taken with it.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    /**
     * Each server is started as soon as it is bound, with everything that can fail done before.
     * A bound server that was never started cannot be closed: its stop() closes the listening
     * channel, but the channel stays registered with the server's selector, which only its
     * dispatcher thread would clear, so the port stayed bound for the rest of the JVM when the
     * second bind failed.
     */
    private void startServers() throws IOException, GeneralSecurityException {
        SSLContext tls = TokenEndpointTls.serverContext(ca, faults, config.clock());
        HttpsConfigurator mutualTls = new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = tls.getDefaultSSLParameters();
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        };
        TokenHandler token = new TokenHandler(config, ca, faults, stats, issued, scheduler);
        ImdsHandler imds = new ImdsHandler(config, ca, faults, stats, issued, scheduler, this::tokenEndpointBase);
        ControlHandler control = new ControlHandler(faults, stats, this::reset);

        https = HttpsServer.create(new InetSocketAddress(LOOPBACK, config.tlsPort()), 0);
        https.setHttpsConfigurator(mutualTls);
        https.createContext("/", token);
        https.setExecutor(workers);
        https.start();

        http = HttpServer.create(new InetSocketAddress(LOOPBACK, config.httpPort()), 0);
        http.createContext("/", imds);
        http.createContext(ControlHandler.PREFIX, control);
        http.setExecutor(workers);
        http.start();
    }

    /** {@code http://127.0.0.1:<port>}: what {@code MSI_AGENT_IMDS_ENDPOINT} should be. */
    public String imdsEndpoint() {
        return "http://" + LOOPBACK.getHostAddress() + ":" + http.getAddress().getPort();
    }

    /** {@code https://127.0.0.1:<tlsPort>}: the {@code mtls_authentication_endpoint} issuecredential returns. */
    public String tokenEndpointBase() {
        return "https://" + LOOPBACK.getHostAddress() + ":" + https.getAddress().getPort();
    }

    /** The full token URL: {@code <base>/<tenant>/oauth2/v2.0/token}. */
    public String tokenEndpoint() {
        return tokenEndpointBase() + "/" + config.tenantId() + "/oauth2/v2.0/token";
    }

    /** {@code http://127.0.0.1:<port>/emulator}: base of the stats / faults / reset control API. */
    public String controlEndpoint() {
        return imdsEndpoint() + "/emulator";
    }

    public int httpPort() {
        return http.getAddress().getPort();
    }

    public int tlsPort() {
        return https.getAddress().getPort();
    }

    public EmulatorConfig config() {
        return config;
    }

    public String tenantId() {
        return config.tenantId();
    }

    public EmulatedIdentity systemAssigned() {
        return config.systemAssigned();
    }

    /** The system-assigned identity first, then the user-assigned ones. */
    public List<EmulatedIdentity> identities() {
        return config.identities();
    }

    /** The CA that issues client certificates and signs the token endpoint's server certificate. */
    public X509Certificate caCertificate() {
        return ca.certificate();
    }

    public String caPem() {
        return ca.caPem();
    }

    /** A trust manager trusting only the emulator CA (for clients of the token endpoint). */
    public X509TrustManager caTrustManager() {
        try {
            return TokenEndpointTls.caTrustManager(ca);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The fault queue: {@code faults().next(EmulatorPath.TOKEN, 2, Fault.status(503))}. */
    public Faults faults() {
        return faults;
    }

    /** A snapshot of the counters. */
    public EmulatorStats.Snapshot stats() {
        return stats.snapshot();
    }

    /**
     * Back to the state at start: counters zero, pending faults replaced by the configured ones.
     * The CA, the ports and the certificates already issued stay valid.
     */
    public void reset() {
        faults.clear();
        stats.reset();
        config.faults().forEach(faults::add);
    }

    /** Stops both servers at once; delayed replies still pending are dropped. Idempotent. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        if (http != null) {
            http.stop(0);
        }
        if (https != null) {
            https.stop(0);
        }
        scheduler.shutdownNow();
        workers.shutdownNow();
        closed.countDown();
        LOG.info("IMDS emulator stopped");
    }

    /** Blocks until {@link #close()} has been called. */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    /**
     * What {@code msi-agent emulator} runs: starts the emulator, prints its endpoints and the
     * environment to export, and serves until the thread is interrupted or the JVM shuts down
     * (Ctrl-C). The CA certificate is written to {@code <caDir>/ca.pem}, or to a temporary file
     * removed at exit, so that {@code MSI_AGENT_TRUST_CA} can name it.
     */
    public static void runForeground(EmulatorConfig config, PrintStream out, boolean json) throws IOException {
        try (ImdsEmulator emulator = start(config)) {
            Path caFile = emulator.writeCaFile();
            if (json) {
                out.println(io.msiagent.imds.Json.write(emulator.describe(caFile)));
                out.flush();
            } else {
                emulator.printBanner(out, caFile);
            }
            Thread hook = new Thread(emulator::close, "imds-emulator-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                emulator.awaitClose();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                removeHook(hook);
                if (config.caDir() == null) {
                    Files.deleteIfExists(caFile);
                }
            }
        }
    }

    Path writeCaFile() throws IOException {
        if (config.caDir() != null) {
            return config.caDir().resolve(EmulatorCa.CERT_FILE).toAbsolutePath();
        }
        Path file = Files.createTempFile("msi-agent-emulator-ca-", ".pem");
        Files.writeString(file, caPem(), StandardCharsets.US_ASCII);
        file.toFile().deleteOnExit();
        return file.toAbsolutePath();
    }

    /** What the banner says, as one JSON object for scripts (with --port 0 the ports are only known from here). */
    java.util.Map<String, Object> describe(Path caFile) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("imdsEndpoint", imdsEndpoint());
        m.put("tokenEndpoint", tokenEndpoint());
        m.put("controlEndpoint", controlEndpoint());
        m.put("tenantId", tenantId());
        java.util.List<Object> ids = new java.util.ArrayList<>();
        for (EmulatedIdentity id : identities()) {
            java.util.Map<String, Object> i = new java.util.LinkedHashMap<>();
            i.put("systemAssigned", id.systemAssigned());
            i.put("clientId", id.clientId());
            i.put("objectId", id.objectId());
            i.put("resourceId", id.resourceId());
            ids.add(i);
        }
        m.put("identities", ids);
        m.put("certLifetime", config.certLifetime().toString());
        m.put("requireAttestation", config.requireAttestation());
        m.put("requireAttestationForPop", config.requireAttestationForPop());
        m.put("caFile", caFile.toString());
        m.put("caX5tS256", ca.thumbprint());
        return m;
    }

    void printBanner(PrintStream out, Path caFile) {
        out.println("msi-agent IMDS v2 emulator (loopback only)");
        out.println("  IMDS endpoint:    " + imdsEndpoint());
        out.println("  Token endpoint:   " + tokenEndpoint() + "  (mutual TLS, client certificates from the emulator CA)");
        out.println("  Control API:      " + controlEndpoint() + "/{stats,faults,reset}");
        out.println("  Tenant:           " + tenantId());
        for (EmulatedIdentity id : identities()) {
            out.println("  " + (id.systemAssigned() ? "System-assigned:  " : "User-assigned:    ") + "client_id="
                    + id.clientId() + " object_id=" + id.objectId()
                    + (id.resourceId() == null ? "" : " mi_res_id=" + id.resourceId()));
        }
        out.println("  Certificates:     " + config.certLifetime() + " lifetime"
                + (config.requireAttestation() ? ", attestation required" : "")
                + (config.requireAttestationForPop() ? ", mtls_pop only for attested certificates" : ""));
        out.println("  CA certificate:   " + caFile + " (x5t#S256 " + ca.thumbprint() + ")");
        out.println();
        out.println("export MSI_AGENT_IMDS_ENDPOINT=" + imdsEndpoint());
        out.println("export MSI_AGENT_TRUST_CA=" + caFile);
        out.println();
        out.println("Press Ctrl-C to stop.");
        out.flush();
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook is running or has run
        }
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
