package io.msiagent.cli;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code run}: the background agent, until SIGTERM or SIGINT (then exit 0 within 2 seconds). Event
 * lines on stdout (JSON with {@code --json}).
 */
@Command(name = "run", description = "The background agent: keeps the credential fresh in the store until SIGTERM or SIGINT.")
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Option(names = "--metrics-port", paramLabel = "P",
            description = "Serve /metrics (Prometheus) and /readyz on 127.0.0.1:P (0: any free port, printed in the STARTED event).")
    Integer metricsPort;

    @Option(names = "--on-renew", paramLabel = "CMD",
            description = "Run CMD (sh -c / cmd /c) whenever the agent starts serving a new credential: the first one it gets "
                    + "from IMDS, each renewal, one adopted from another process, a re-acquisition (not the unchanged stored one "
                    + "it loads at start); with MSI_AGENT_X5T_S256, MSI_AGENT_CERT_FILE, MSI_AGENT_IDENTITY, MSI_AGENT_NOT_AFTER "
                    + "set; at most 30 s; a failure is logged, never fatal.")
    String onRenew;

    @Override
    public Integer call() throws InterruptedException {
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            throw new UsageException("--metrics-port " + metricsPort + ": not a port number (0-65535)");
        }
        Setup setup = new Setup(root);
        setup.imdsClient(); // a malformed endpoint is a usage error now, not a failed acquisition later
        Clock clock = Clock.systemUTC();
        AgentEvents events = new AgentEvents(root.io().out(), root.json, setup.identity(), clock);
        AgentMetrics metrics = new AgentMetrics(setup.identity(), clock);
        var cas = root.trustedCas();
        MetricsServer server = metricsPort == null ? null : new MetricsServer(metricsPort, metrics);
        Agent agent = new Agent(setup.identity(), setup.store(), setup::newCache, events, AuditLog.beside(setup.auditDirectory()),
                metrics, onRenew, root.io().err(), clock);
        Map<String, Object> started = events.event("STARTED");
        started.put("version", Version.current());
        started.put("pid", ProcessHandle.current().pid());
        started.put("store", setup.store().location(setup.identity()));
        started.put("imdsEndpoint", root.imdsEndpoint());
        started.put("trustedCas", cas.size());
        started.put("metricsPort", server == null ? null : server.port());
        events.emit(started);
        AtomicBoolean failed = new AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (failed.get()) {
                return; // the JVM exits because the agent failed: that exit code stands, and no signal is claimed
            }
            agent.shutdown("SIGTERM/SIGINT");
            if (server != null) {
                server.close();
            }
            root.io().out().flush();
            // The JVM would exit with 128+signal; a requested stop is a success.
            Runtime.getRuntime().halt(ExitCodes.OK);
        }, "msi-agent-shutdown"));
        try {
            agent.start();
            agent.awaitStop();
        } catch (RuntimeException | Error e) {
            failed.set(true);
            agent.shutdown(null); // STOPPING with no signal: the error line says why
            if (server != null) {
                server.close();
            }
            throw e;
        }
        return ExitCodes.OK;
    }
}
