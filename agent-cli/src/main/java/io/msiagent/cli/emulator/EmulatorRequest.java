package io.msiagent.cli.emulator;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One request, read completely: method, path, decoded query (or form) parameters and body. */
final class EmulatorRequest {
    /** Requests larger than this are refused unread (the real CSR is about 1 KB). */
    static final int MAX_BODY_BYTES = 256 * 1024;

    final HttpExchange exchange;
    final String method;
    final String path;
    final Map<String, List<String>> query;
    final byte[] body;

    private EmulatorRequest(HttpExchange exchange, byte[] body) {
        this.exchange = exchange;
        this.method = exchange.getRequestMethod();
        this.path = exchange.getRequestURI().getRawPath();
        this.query = parseParameters(exchange.getRequestURI().getRawQuery());
        this.body = body;
    }

    static EmulatorRequest read(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            return new EmulatorRequest(exchange, body);
        }
    }

    boolean bodyTooLarge() {
        return body.length > MAX_BODY_BYTES;
    }

    String header(String name) {
        return exchange.getRequestHeaders().getFirst(name);
    }

    /** The single value of a query parameter, or null. */
    String queryValue(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** The body as {@code application/x-www-form-urlencoded} parameters. */
    Map<String, List<String>> form() {
        return parseParameters(new String(body, StandardCharsets.UTF_8));
    }

    static Map<String, List<String>> parseParameters(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // MSAL appends selector values verbatim; keep what we cannot decode
        }
    }
}
