package io.msiagent.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code --metrics-port P}: {@code /metrics} (Prometheus text) and {@code /readyz} (JSON; 200 while a
 * valid credential is held, else 503) on 127.0.0.1 only. One worker thread; nothing runs between requests.
 */
final class MetricsServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "msi-agent-metrics");
        t.setDaemon(true);
        return t;
    });

    MetricsServer(int port, AgentMetrics metrics) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        } catch (IOException e) {
            throw new UsageException("--metrics-port " + port + ": cannot listen on 127.0.0.1:" + port + " (" + e.getMessage() + ")", e);
        }
        server.createContext("/metrics", ex -> reply(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.prometheus()));
        server.createContext("/readyz", ex -> reply(ex, metrics.ready() ? 200 : 503, "application/json",
                Output.json(metrics.readiness()) + "\n"));
        server.createContext("/", ex -> reply(ex, 404, "text/plain; charset=utf-8", "try /metrics or /readyz\n"));
        server.setExecutor(worker);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int status, String contentType, String body) throws IOException {
        try (ex) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType);
            boolean head = "HEAD".equalsIgnoreCase(ex.getRequestMethod());
            ex.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        worker.shutdownNow();
    }
}
