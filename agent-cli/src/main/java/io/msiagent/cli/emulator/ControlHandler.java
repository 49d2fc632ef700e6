package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loopback-only control API on the IMDS port:
 * <ul>
 * <li>{@code GET /emulator/stats} — the counters ({@link EmulatorStats.Snapshot} as JSON);</li>
 * <li>{@code GET /emulator/faults} — pending faults; {@code POST /emulator/faults} — queue one rule
 * (a JSON object with the {@link FaultRule} keys) or several (a JSON array);
 * {@code DELETE /emulator/faults} — drop them all;</li>
 * <li>{@code POST /emulator/reset} — counters to zero, pending faults back to the configured ones.</li>
 * </ul>
 * Callers must come from a loopback address and name a loopback host in {@code Host} (which keeps
 * web pages from driving it through DNS rebinding); others get 403.
 */
final class ControlHandler implements HttpHandler {
    static final String PREFIX = "/emulator/";
    private static final Logger LOG = LoggerFactory.getLogger(ControlHandler.class);

    private final Faults faults;
    private final EmulatorStats stats;
    private final Runnable reset;

    ControlHandler(Faults faults, EmulatorStats stats, Runnable reset) {
        this.faults = faults;
        this.stats = stats;
        this.reset = reset;
    }

    /** Whether a control request from {@code remote} naming {@code host} is allowed. */
    static boolean allowed(InetSocketAddress remote, String host) {
        if (remote == null || remote.getAddress() == null || !remote.getAddress().isLoopbackAddress()) {
            return false;
        }
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon > 0 && !h.endsWith("]")) {
            h = h.substring(0, colon);
        }
        return h.equals("127.0.0.1") || h.equals("localhost") || h.equals("[::1]");
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try {
            EmulatorRequest request = EmulatorRequest.read(exchange);
            if (!allowed(exchange.getRemoteAddress(), request.header("Host"))) {
                LOG.warn("Refused control request from {} (Host {})", exchange.getRemoteAddress(), request.header("Host"));
                send(exchange, 403, Json.imdsError("forbidden", "the control API is loopback-only"));
                return;
            }
            String what = request.path.substring(PREFIX.length());
            switch (what + " " + request.method) {
                case "stats GET" -> send(exchange, 200, statsJson(stats.snapshot()));
                case "faults GET" -> send(exchange, 200, pendingJson());
                case "faults DELETE" -> {
                    faults.clear();
                    send(exchange, 200, pendingJson());
                }
                case "faults POST" -> addFaults(exchange, request);
                case "reset POST" -> {
                    reset.run();
                    send(exchange, 200, Json.object().put("reset", true));
                }
                default -> send(exchange, 404, Json.imdsError("not_found", "no such control endpoint: "
                        + request.method + " " + request.path));
            }
        } finally {
            exchange.close();
        }
    }

    private void addFaults(HttpExchange exchange, EmulatorRequest request) throws IOException {
        List<FaultRule> rules = new ArrayList<>();
        try {
            JsonNode body = Json.MAPPER.readTree(request.body);
            if (body != null && body.isArray()) {
                for (JsonNode n : body) {
                    rules.add(rule(n));
                }
            } else {
                rules.add(rule(body));
            }
        } catch (IOException | IllegalArgumentException e) {
            send(exchange, 400, Json.imdsError("invalid_request", "bad fault: " + e.getMessage()));
            return;
        }
        rules.forEach(faults::add);
        LOG.info("Queued faults {}", rules);
        send(exchange, 200, pendingJson());
    }

    private static FaultRule rule(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            JsonNode v = e.getValue();
            if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                m.put(e.getKey(), String.join(",", parts));
            } else {
                m.put(e.getKey(), v.asText());
            }
        }
        return FaultRule.fromMap(m);
    }

    private ObjectNode pendingJson() {
        ObjectNode out = Json.object();
        ArrayNode arr = out.putArray("pending");
        for (FaultRule r : faults.pending()) {
            arr.addObject().put("kind", r.fault().kind().specName())
                    .put("path", r.path() == null ? "any" : r.path().wireName())
                    .put("remaining", r.count())
                    .put("description", r.fault().toString());
        }
        return out;
    }

    static ObjectNode statsJson(EmulatorStats.Snapshot s) {
        ObjectNode out = Json.object();
        ObjectNode calls = out.putObject("calls");
        s.calls().forEach(calls::put);
        ObjectNode ids = out.putObject("identities");
        s.identities().forEach((id, counters) -> {
            ObjectNode o = ids.putObject(id);
            counters.forEach(o::put);
        });
        ObjectNode f = out.putObject("faultsInjected");
        s.faultsInjected().forEach(f::put);
        out.put("certificatesIssued", s.certificatesIssued());
        out.put("tokensIssued", s.tokensIssued());
        return out;
    }

    private static void send(HttpExchange exchange, int status, ObjectNode body) throws IOException {
        byte[] bytes = Json.bytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
