package io.msiagent.tests.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal IMDS v1 emulation on 127.0.0.1 for msal4j's {@code ManagedIdentityApplication}: answers
 * {@code GET .../metadata/identity/oauth2/token?api-version=2018-02-01&resource=...} with a bearer
 * token valid for an hour. msal4j is pointed at it with the environment variable
 * {@code AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:<port>} (read by its IMDS source).
 */
public final class ImdsV1Server implements AutoCloseable {
    public static final String ENV = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

    private final HttpServer server;
    private final AtomicLong calls = new AtomicLong();

    private ImdsV1Server(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            String query = String.valueOf(exchange.getRequestURI().getQuery());
            boolean ok = path.endsWith("/metadata/identity/oauth2/token") && "true".equals(exchange.getRequestHeaders().getFirst("Metadata"))
                    && query.contains("resource=");
            calls.incrementAndGet();
            long now = System.currentTimeMillis() / 1000;
            String resource = ok ? query.replaceAll(".*resource=([^&]*).*", "$1") : "";
            byte[] body = (ok ? "{\"access_token\":\"v1-bench-token\",\"client_id\":\"d3adb33f-c0de-ed0c-c0de-deadb33fc0d3\","
                    + "\"expires_in\":\"3599\",\"expires_on\":\"" + (now + 3599) + "\",\"ext_expires_in\":\"3599\",\"not_before\":\""
                    + now + "\",\"resource\":\"" + java.net.URLDecoder.decode(resource, StandardCharsets.UTF_8) + "\",\"token_type\":\"Bearer\"}"
                    : "{\"error\":\"invalid_request\",\"error_description\":\"bad request\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
            exchange.getResponseHeaders().add("Server", "IMDS/150.870.65.1854");
            exchange.sendResponseHeaders(ok ? 200 : 400, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "imds-v1");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** Listens on {@code port} (0 = ephemeral). */
    public static ImdsV1Server start(int port) throws IOException {
        return new ImdsV1Server(port);
    }

    /** Listens on the port named by {@value #ENV} in this process's environment (what msal4j reads). */
    public static ImdsV1Server startFromEnvironment() throws IOException {
        String host = System.getenv(ENV);
        if (host == null || !host.matches("http://127\\.0\\.0\\.1:\\d+/?")) {
            throw new IllegalStateException("set " + ENV + "=http://127.0.0.1:<free port> (msal4j reads it to find IMDS)");
        }
        return new ImdsV1Server(Integer.parseInt(host.replaceAll(".*:(\\d+)/?$", "$1")));
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public long calls() {
        return calls.get();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
