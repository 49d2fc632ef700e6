package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request cycle shared by the emulated endpoints: read the request, count it, take a pending
 * fault, then answer normally or misbehave as the fault says. Subclasses only produce the correct
 * {@link Reply}.
 */
abstract class FaultingHandler implements HttpHandler {
    private static final Logger LOG = LoggerFactory.getLogger(FaultingHandler.class);
    private static final byte[] GARBAGE = "<html><body>502 Bad Gateway</body></html>{\"clientId\":"
            .getBytes(StandardCharsets.UTF_8);
    private static final int CHUNK = 64 * 1024;

    private final Faults faults;
    private final EmulatorStats stats;
    private final ScheduledExecutorService scheduler;

    FaultingHandler(Faults faults, EmulatorStats stats, ScheduledExecutorService scheduler) {
        this.faults = faults;
        this.stats = stats;
        this.scheduler = scheduler;
    }

    /** Which emulated path this request is for, or null for an unknown path (404). */
    abstract EmulatorPath pathOf(EmulatorRequest request);

    /** The identity the request names, for per-identity stats; null when none or unknown. */
    abstract EmulatedIdentity identityOf(EmulatorRequest request, EmulatorPath path);

    /** The correct answer; {@code fault} is passed for faults that change what is issued. */
    abstract Reply process(EmulatorRequest request, EmulatorPath path, Fault fault);

    /** The error body for a {@link Fault.Kind#STATUS} fault. */
    abstract ObjectNode statusFaultBody(int status);

    /** Headers every reply on this path carries (e.g. IMDS's Server header); faults may drop them. */
    abstract void addStandardHeaders(HttpExchange exchange, EmulatorPath path, Fault fault);

    @Override
    public final void handle(HttpExchange exchange) throws IOException {
        EmulatorRequest request;
        try {
            request = EmulatorRequest.read(exchange);
        } catch (IOException e) {
            exchange.close();
            throw e;
        }
        EmulatorPath path = pathOf(request);
        if (path == null) {
            send(request, null, null, new Reply(404, Json.imdsError("not_found", "no such endpoint: " + request.path)));
            return;
        }
        stats.call(path, identityOf(request, path));
        Fault fault = faults.take(path).orElse(null);
        if (fault != null) {
            LOG.info("Injecting fault on {}: {}", path.wireName(), fault);
        }
        if (fault != null && fault.kind() == Fault.Kind.DELAY) {
            try {
                // Answer later from the scheduler; the exchange stays open meanwhile.
                scheduler.schedule(() -> respond(request, path, null), fault.delay().toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                exchange.close(); // shutting down
            }
            return;
        }
        respond(request, path, fault);
    }

    private void respond(EmulatorRequest request, EmulatorPath path, Fault fault) {
        HttpExchange exchange = request.exchange;
        try {
            if (fault != null && fault.kind() == Fault.Kind.DROP_CONNECTION) {
                // Closing before any response header makes the server close the socket: the client reads EOF.
                exchange.close();
                return;
            }
            Reply reply;
            if (fault != null && fault.kind() == Fault.Kind.STATUS) {
                reply = new Reply(fault.status(), statusFaultBody(fault.status()));
                if (fault.retryAfter() != null) {
                    reply.header("Retry-After", Long.toString(fault.retryAfter().toSeconds()));
                }
            } else if (request.bodyTooLarge()) {
                reply = new Reply(413, Json.imdsError("invalid_request", "request body too large"));
            } else {
                reply = process(request, path, fault);
            }
            send(request, path, fault, reply);
        } catch (IOException e) {
            LOG.debug("Client went away while answering {}: {}", path.wireName(), e.toString());
        } catch (RuntimeException e) {
            LOG.warn("Emulator failed answering {}", path.wireName(), e);
            exchange.close();
        }
    }

    private void send(EmulatorRequest request, EmulatorPath path, Fault fault, Reply reply) throws IOException {
        HttpExchange exchange = request.exchange;
        try {
            var headers = exchange.getResponseHeaders();
            headers.set("Content-Type", "application/json; charset=utf-8");
            headers.set("x-ms-request-id", UUID.randomUUID().toString());
            if (path != null) {
                addStandardHeaders(exchange, path, fault);
            }
            for (Map.Entry<String, String> h : reply.headers.entrySet()) {
                headers.set(h.getKey(), h.getValue());
            }
            Fault.Kind kind = fault == null ? null : fault.kind();
            if (kind == Fault.Kind.HUGE_BODY) {
                sendHuge(exchange, reply.status, fault.bodyBytes());
                return;
            }
            byte[] body;
            if (kind == Fault.Kind.GARBAGE_JSON) {
                body = GARBAGE;
            } else if (kind == Fault.Kind.TRUNCATED_JSON) {
                byte[] full = Json.bytes(reply.json);
                body = Arrays.copyOf(full, full.length / 2);
            } else if (kind == Fault.Kind.MISSING_FIELDS && reply.json != null) {
                ObjectNode copy = reply.json.deepCopy();
                copy.remove(fault.fields());
                body = Json.bytes(copy);
            } else {
                body = reply.json == null ? new byte[0] : Json.bytes(reply.json);
            }
            exchange.sendResponseHeaders(reply.status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        } finally {
            exchange.close();
        }
    }

    /** A well-formed HTTP reply whose JSON body is {@code size} bytes of padding. */
    private static void sendHuge(HttpExchange exchange, int status, long size) throws IOException {
        byte[] head = "{\"padding\":\"".getBytes(StandardCharsets.US_ASCII);
        byte[] tail = "\"}".getBytes(StandardCharsets.US_ASCII);
        long padding = Math.max(0, size - head.length - tail.length);
        exchange.sendResponseHeaders(status, head.length + padding + tail.length);
        byte[] chunk = new byte[CHUNK];
        Arrays.fill(chunk, (byte) 'a');
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(head);
            for (long left = padding; left > 0; left -= CHUNK) {
                out.write(chunk, 0, (int) Math.min(CHUNK, left));
            }
            out.write(tail);
        }
    }
}
