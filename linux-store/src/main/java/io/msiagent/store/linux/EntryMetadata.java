package io.msiagent.store.linux;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MtlsCredential;
import io.msiagent.imds.Json;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The JSON file beside the PEM: what the PEM cannot say (client id, tenant, token endpoint,
 * renewAt, key protection, attestation), keyed by the {@code x5t#S256} of the certificate each
 * entry belongs to. It usually holds one entry; during a save it briefly holds the new entry and
 * the previous ones, so that whichever PEM a crash leaves behind finds its metadata.
 *
 * <pre>{"formatVersion":1, "identity":"system",
 *  "entries":[{"x5t#S256":..., "clientId":..., "tenantId":..., "tokenEndpoint":..., "renewAt":...,
 *              "keyProtection":"SOFTWARE", "attested":false, "notAfter":...}]}</pre>
 */
final class EntryMetadata {
    static final int FORMAT_VERSION = 1;

    /** What the store keeps about one certificate. {@code notAfter} is for humans reading the file. */
    record Entry(String x5tS256, String clientId, String tenantId, String tokenEndpoint, Instant renewAt,
            KeyProtection keyProtection, boolean attested, Instant notAfter) {
        static Entry of(MtlsCredential c) {
            return new Entry(c.x5tS256(), c.clientId(), c.tenantId(), c.tokenEndpoint(), c.renewAt(),
                    c.keyProtection(), c.attested(), c.notAfter());
        }
    }

    /** Not metadata this version can use; the message says why. */
    static final class MalformedMetadataException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedMetadataException(String message) {
            super(message);
        }
    }

    /**
     * Metadata of a later format, written by a newer msi-agent sharing the store (an upgrade rolling
     * out, or a downgrade): not corrupt, so it is neither quarantined nor overwritten by this version.
     */
    static final class NewerFormatException extends Exception {
        private static final long serialVersionUID = 1L;

        NewerFormatException(Object version) {
            super("formatVersion " + version + " was written by a newer msi-agent (this one reads and writes "
                    + FORMAT_VERSION + "); left in place");
        }
    }

    private final String identity;
    private final List<Entry> entries;

    EntryMetadata(String identity, List<Entry> entries) {
        this.identity = Objects.requireNonNull(identity);
        this.entries = List.copyOf(entries);
    }

    String identity() {
        return identity;
    }

    /** Newest first. */
    List<Entry> entries() {
        return entries;
    }

    Optional<Entry> entryFor(String x5tS256) {
        for (Entry e : entries) {
            if (e.x5tS256().equals(x5tS256)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * {@code newest} first, then the entry of {@code inPlace} (the certificate whose PEM is on disk
     * now, or null), then others, {@code keep} at most. The entry in place must survive however many
     * saves fail after staging: without it the PEM still on disk would read as corrupt.
     */
    EntryMetadata withNewest(Entry newest, String inPlace, int keep) {
        List<Entry> list = new ArrayList<>();
        list.add(newest);
        if (inPlace != null && !inPlace.equals(newest.x5tS256())) {
            entryFor(inPlace).ifPresent(list::add);
        }
        for (Entry e : entries) {
            if (list.size() < keep && !names(list, e.x5tS256())) {
                list.add(e);
            }
        }
        return new EntryMetadata(identity, list);
    }

    private static boolean names(List<Entry> list, String x5tS256) {
        for (Entry e : list) {
            if (e.x5tS256().equals(x5tS256)) {
                return true;
            }
        }
        return false;
    }

    byte[] toJson() {
        List<Object> list = new ArrayList<>();
        for (Entry e : entries) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("x5t#S256", e.x5tS256());
            m.put("clientId", e.clientId());
            m.put("tenantId", e.tenantId());
            m.put("tokenEndpoint", e.tokenEndpoint());
            m.put("renewAt", e.renewAt().toString());
            m.put("keyProtection", e.keyProtection().name());
            m.put("attested", e.attested());
            m.put("notAfter", e.notAfter().toString());
            list.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("formatVersion", FORMAT_VERSION);
        root.put("identity", identity);
        root.put("entries", list);
        return Json.writeIndented(root).getBytes(StandardCharsets.UTF_8);
    }

    static EntryMetadata parse(byte[] json) throws MalformedMetadataException, NewerFormatException {
        Object tree;
        try {
            tree = Json.parse(json);
        } catch (Json.SyntaxException e) {
            throw new MalformedMetadataException("not JSON (" + e.getMessage() + ")");
        }
        if (!(tree instanceof Map<?, ?> root)) {
            throw new MalformedMetadataException("not a JSON object");
        }
        Object version = root.get("formatVersion");
        if ((version instanceof Long n && n > FORMAT_VERSION) || (version instanceof BigInteger b && b.signum() > 0)) {
            throw new NewerFormatException(version);
        }
        if (!Long.valueOf(FORMAT_VERSION).equals(version)) {
            throw new MalformedMetadataException("formatVersion " + root.get("formatVersion") + " is not " + FORMAT_VERSION);
        }
        if (!(root.get("entries") instanceof List<?> list)) {
            throw new MalformedMetadataException("no entries array");
        }
        List<Entry> entries = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new MalformedMetadataException("an entry is not an object");
            }
            entries.add(entry(m));
        }
        return new EntryMetadata(text(root, "identity"), entries);
    }

    private static Entry entry(Map<?, ?> n) throws MalformedMetadataException {
        if (!(n.get("attested") instanceof Boolean attested)) {
            throw new MalformedMetadataException("entry without boolean \"attested\"");
        }
        try {
            return new Entry(text(n, "x5t#S256"), text(n, "clientId"), text(n, "tenantId"), text(n, "tokenEndpoint"),
                    instant(text(n, "renewAt")), KeyProtection.valueOf(text(n, "keyProtection")),
                    attested, instant(text(n, "notAfter")));
        } catch (RuntimeException e) {
            throw new MalformedMetadataException("entry with an unreadable time or key protection");
        }
    }

    /**
     * {@link Instant#parse}, with the shape {@link Instant#toString} writes for years 0000-9999
     * ({@code 2026-11-22T17:55:34.123456Z}, 0-9 fraction digits) read directly: java.time.format's
     * set-up costs a fresh JVM ~15 ms, a sizeable part of serving a stored credential. Any other
     * shape goes to {@code Instant.parse}; an impossible date or time throws either way.
     */
    static Instant instant(String s) {
        int n = s.length();
        if (n < 20 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':'
                || s.charAt(16) != ':' || s.charAt(n - 1) != 'Z' || (n > 20 && (s.charAt(19) != '.' || n == 21 || n > 30))) {
            return Instant.parse(s);
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 7);
        int day = digits(s, 8, 10);
        int hour = digits(s, 11, 13);
        int minute = digits(s, 14, 16);
        int second = digits(s, 17, 19);
        int fraction = n > 20 ? digits(s, 20, n - 1) : 0;
        if ((year | month | day | hour | minute | second | fraction) < 0 || hour > 23 || minute > 59 || second > 59) {
            return Instant.parse(s);
        }
        int nanos = fraction;
        for (int written = n - 21; written < 9; written++) {
            nanos *= 10;
        }
        long epochDay = LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3_600L + minute * 60L + second, nanos);
    }

    /** The decimal value of {@code s[from, to)}, or -1 unless every char is an ASCII digit. */
    private static int digits(String s, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static String text(Map<?, ?> n, String field) throws MalformedMetadataException {
        if (!(n.get(field) instanceof String v) || v.isBlank()) {
            throw new MalformedMetadataException("missing \"" + field + "\"");
        }
        return v;
    }
}
