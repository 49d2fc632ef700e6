package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a store entry needs besides the certificate, kept in a user-defined context property of the
 * same entry ({@link WinApi#MSI_AGENT_METADATA_PROP_ID}): {@code key=value} lines in UTF-8. The
 * entry's intermediates travel here too (DER, base64), so a loaded credential has its whole chain.
 */
record EntryMetadata(int version, String identity, String clientId, String tenantId, String tokenEndpoint,
        Instant renewAt, KeyProtection keyProtection, boolean attested, String keyName, String providerName,
        boolean supportsPss, List<byte[]> intermediates) {

    static final int CURRENT_VERSION = 1;

    EntryMetadata {
        Objects.requireNonNull(identity, "identity");
        intermediates = List.copyOf(intermediates);
    }

    byte[] encode() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("v", Integer.toString(version));
        m.put("identity", identity);
        m.put("clientId", clientId);
        m.put("tenantId", tenantId);
        m.put("tokenEndpoint", tokenEndpoint);
        m.put("renewAt", renewAt.toString());
        m.put("keyProtection", keyProtection.name());
        m.put("attested", Boolean.toString(attested));
        m.put("keyName", keyName);
        m.put("provider", providerName);
        m.put("pss", Boolean.toString(supportsPss));
        List<String> chain = new ArrayList<>();
        for (byte[] der : intermediates) {
            chain.add(Base64.getEncoder().encodeToString(der));
        }
        m.put("intermediates", String.join(",", chain));
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> {
            if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0) {
                throw new IllegalArgumentException(k + " contains a line break");
            }
            sb.append(k).append('=').append(v).append('\n');
        });
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The format version alone, read before anything else: a newer version may lay out its other
     * fields differently, and its entry must not be judged corrupt by this one's rules.
     */
    static int versionOf(byte[] bytes) {
        return version(fields(bytes));
    }

    /** Parses what {@link #encode()} wrote; throws {@link IllegalArgumentException} naming the missing or bad field. */
    static EntryMetadata decode(byte[] bytes) {
        Map<String, String> m = fields(bytes);
        int version = version(m);
        List<byte[]> intermediates = new ArrayList<>();
        String chain = m.getOrDefault("intermediates", "");
        if (!chain.isEmpty()) {
            for (String b64 : chain.split(",")) {
                intermediates.add(Base64.getDecoder().decode(b64));
            }
        }
        try {
            return new EntryMetadata(version, required(m, "identity"), required(m, "clientId"),
                    required(m, "tenantId"), required(m, "tokenEndpoint"), Instant.parse(required(m, "renewAt")),
                    KeyProtection.valueOf(required(m, "keyProtection")), Boolean.parseBoolean(required(m, "attested")),
                    required(m, "keyName"), required(m, "provider"), Boolean.parseBoolean(required(m, "pss")),
                    intermediates);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("metadata unreadable: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> fields(byte[] bytes) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }

    private static int version(Map<String, String> m) {
        try {
            return Integer.parseInt(required(m, "v"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata version is not a number");
        }
    }

    private static String required(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("metadata lacks " + key);
        }
        return v;
    }
}
