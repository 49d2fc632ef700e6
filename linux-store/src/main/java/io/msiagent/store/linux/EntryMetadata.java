package io.msiagent.store.linux;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.MtlsCredential;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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
    private static final JsonFactory JSON = new JsonFactory();

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
        return entries.stream().filter(e -> e.x5tS256().equals(x5tS256)).findFirst();
    }

    /** {@code newest} first, then up to {@code keep - 1} of these entries for other certificates. */
    EntryMetadata withNewest(Entry newest, int keep) {
        List<Entry> list = new ArrayList<>();
        list.add(newest);
        for (Entry e : entries) {
            if (list.size() < keep && !e.x5tS256().equals(newest.x5tS256())) {
                list.add(e);
            }
        }
        return new EntryMetadata(identity, list);
    }

    byte[] toJson() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeNumberField("formatVersion", FORMAT_VERSION);
            g.writeStringField("identity", identity);
            g.writeArrayFieldStart("entries");
            for (Entry e : entries) {
                g.writeStartObject();
                g.writeStringField("x5t#S256", e.x5tS256());
                g.writeStringField("clientId", e.clientId());
                g.writeStringField("tenantId", e.tenantId());
                g.writeStringField("tokenEndpoint", e.tokenEndpoint());
                g.writeStringField("renewAt", e.renewAt().toString());
                g.writeStringField("keyProtection", e.keyProtection().name());
                g.writeBooleanField("attested", e.attested());
                g.writeStringField("notAfter", e.notAfter().toString());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }

    static EntryMetadata parse(byte[] json) throws MalformedMetadataException {
        try (JsonParser p = JSON.createParser(json)) {
            Map<String, Object> root = object(p, p.nextToken());
            if (p.nextToken() != null) {
                throw new MalformedMetadataException("trailing content after the JSON object");
            }
            if (!Integer.valueOf(FORMAT_VERSION).equals(root.get("formatVersion"))) {
                throw new MalformedMetadataException("formatVersion " + root.get("formatVersion") + " is not "
                        + FORMAT_VERSION);
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
        } catch (IOException e) {
            throw new MalformedMetadataException("not JSON");
        }
    }

    private static Entry entry(Map<?, ?> n) throws MalformedMetadataException {
        if (!(n.get("attested") instanceof Boolean attested)) {
            throw new MalformedMetadataException("entry without boolean \"attested\"");
        }
        try {
            return new Entry(text(n, "x5t#S256"), text(n, "clientId"), text(n, "tenantId"), text(n, "tokenEndpoint"),
                    Instant.parse(text(n, "renewAt")), KeyProtection.valueOf(text(n, "keyProtection")),
                    attested, Instant.parse(text(n, "notAfter")));
        } catch (RuntimeException e) {
            throw new MalformedMetadataException("entry with an unreadable time or key protection");
        }
    }

    private static String text(Map<?, ?> n, String field) throws MalformedMetadataException {
        if (!(n.get(field) instanceof String v) || v.isBlank()) {
            throw new MalformedMetadataException("missing \"" + field + "\"");
        }
        return v;
    }

    /**
     * A small tree from the streaming parser (objects, arrays, strings, ints, booleans): the
     * streaming API costs a fraction of databind's start-up on the cold load path.
     */
    private static Object value(JsonParser p, JsonToken t) throws IOException, MalformedMetadataException {
        if (t == null) {
            throw new MalformedMetadataException("truncated JSON");
        }
        switch (t) {
            case START_OBJECT:
                return object(p, t);
            case START_ARRAY:
                List<Object> list = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    list.add(value(p, e));
                }
                return list;
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return p.getIntValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            default:
                return null;
        }
    }

    private static Map<String, Object> object(JsonParser p, JsonToken t) throws IOException, MalformedMetadataException {
        if (t != JsonToken.START_OBJECT) {
            throw new MalformedMetadataException("not a JSON object");
        }
        Map<String, Object> map = new HashMap<>();
        for (JsonToken f = p.nextToken(); f != JsonToken.END_OBJECT; f = p.nextToken()) {
            if (f != JsonToken.FIELD_NAME) {
                throw new MalformedMetadataException("truncated JSON");
            }
            String name = p.currentName();
            map.put(name, value(p, p.nextToken()));
        }
        return map;
    }
}
