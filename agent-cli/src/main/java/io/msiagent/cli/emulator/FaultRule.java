package io.msiagent.cli.emulator;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * "The next {@code count} replies on {@code path} (any path the fault fits, when null) misbehave
 * like {@code fault}". The same keys describe a rule in a CLI spec
 * ({@code kind=status;status=429;retry-after=5s;path=token;count=2}) and in the control
 * endpoint's JSON ({@code {"kind":"status","status":429,"retry-after":"5s","path":"token","count":2}}):
 * {@code kind} (status, delay, garbage-json, truncated-json, huge-body, missing-fields,
 * drop-connection, wrong-server-header, missing-server-header, certificate-for-other-key,
 * expired-certificate, future-certificate, invalid-client, tls-refusal), {@code path}
 * (platformmetadata, issuecredential, token; default any), {@code count} (default 1),
 * {@code status}, {@code retry-after}, {@code delay} (durations as {@link EmulatorDurations}),
 * {@code size} (bytes), {@code fields} (comma separated), {@code server}, {@code code} (AADSTS number).
 */
public record FaultRule(EmulatorPath path, int count, Fault fault) {
    private static final Set<String> KEYS = Set.of("kind", "path", "count", "status", "retry-after", "delay", "size",
            "fields", "server", "code");

    public FaultRule {
        Objects.requireNonNull(fault, "fault");
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1");
        }
        if (path != null && !fault.kind().appliesTo(path)) {
            throw new IllegalArgumentException(fault.kind().specName() + " does not apply to " + path.wireName());
        }
    }

    /** Parses {@code key=value;key=value...}. */
    public static FaultRule parse(String spec) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String part : spec.split(";")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                if (m.isEmpty()) {
                    m.put("kind", part.trim()); // "drop-connection" alone is fine
                    continue;
                }
                throw new IllegalArgumentException("expected key=value in fault spec: '" + part + "'");
            }
            m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        return fromMap(m);
    }

    public static FaultRule fromMap(Map<String, String> m) {
        for (String key : m.keySet()) {
            if (!KEYS.contains(key.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("unknown fault key '" + key + "' (known: " + KEYS + ")");
            }
        }
        String kindName = m.get("kind");
        if (kindName == null) {
            throw new IllegalArgumentException("fault needs a kind");
        }
        Fault.Kind kind = Fault.Kind.parse(kindName);
        Fault fault = switch (kind) {
            case STATUS -> Fault.status(intValue(m, "status", 0),
                    m.containsKey("retry-after") ? EmulatorDurations.parse(m.get("retry-after")) : null);
            case DELAY -> Fault.delay(EmulatorDurations.parse(required(m, "delay")));
            case GARBAGE_JSON -> Fault.garbageJson();
            case TRUNCATED_JSON -> Fault.truncatedJson();
            case HUGE_BODY -> Fault.hugeBody(m.containsKey("size") ? Long.parseLong(m.get("size"))
                    : Fault.DEFAULT_HUGE_BODY_BYTES);
            case MISSING_FIELDS -> Fault.missingFields(Arrays.stream(required(m, "fields").split(","))
                    .map(String::trim).filter(s -> !s.isEmpty()).toArray(String[]::new));
            case DROP_CONNECTION -> Fault.dropConnection();
            case WRONG_SERVER_HEADER -> Fault.wrongServerHeader(m.getOrDefault("server", Fault.DEFAULT_WRONG_SERVER));
            case MISSING_SERVER_HEADER -> Fault.missingServerHeader();
            case CERTIFICATE_FOR_OTHER_KEY -> Fault.certificateForOtherKey();
            case EXPIRED_CERTIFICATE -> Fault.expiredCertificate();
            case FUTURE_CERTIFICATE -> Fault.futureCertificate();
            case INVALID_CLIENT -> Fault.invalidClient(intValue(m, "status", 400),
                    intValue(m, "code", Fault.DEFAULT_INVALID_CLIENT_CODE));
            case TLS_REFUSAL -> Fault.tlsRefusal();
        };
        String path = m.get("path");
        EmulatorPath p = path == null || path.isBlank() || path.equalsIgnoreCase("any") ? null : EmulatorPath.parse(path);
        return new FaultRule(p, intValue(m, "count", 1), fault);
    }

    private static String required(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("fault needs '" + key + "'");
        }
        return v;
    }

    private static int intValue(Map<String, String> m, String key, int dflt) {
        String v = m.get(key);
        if (v == null) {
            if (dflt == 0) {
                throw new IllegalArgumentException("fault needs '" + key + "'");
            }
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' must be a number: " + v, e);
        }
    }

    @Override
    public String toString() {
        return fault + " x" + count + " on " + (path == null ? "any path" : path.wireName());
    }
}
