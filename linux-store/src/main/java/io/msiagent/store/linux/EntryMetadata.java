package io.msiagent.store.linux;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.MtlsCredential;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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
        ObjectNode root = JSON.createObjectNode();
        root.put("formatVersion", FORMAT_VERSION);
        root.put("identity", identity);
        ArrayNode list = root.putArray("entries");
        for (Entry e : entries) {
            ObjectNode n = list.addObject();
            n.put("x5t#S256", e.x5tS256());
            n.put("clientId", e.clientId());
            n.put("tenantId", e.tenantId());
            n.put("tokenEndpoint", e.tokenEndpoint());
            n.put("renewAt", e.renewAt().toString());
            n.put("keyProtection", e.keyProtection().name());
            n.put("attested", e.attested());
            n.put("notAfter", e.notAfter().toString());
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static EntryMetadata parse(byte[] json) throws MalformedMetadataException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new MalformedMetadataException("not JSON");
        }
        if (root == null || !root.isObject()) {
            throw new MalformedMetadataException("not a JSON object");
        }
        int version = root.path("formatVersion").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw new MalformedMetadataException("formatVersion " + root.path("formatVersion") + " is not "
                    + FORMAT_VERSION);
        }
        JsonNode list = root.path("entries");
        if (!list.isArray()) {
            throw new MalformedMetadataException("no entries array");
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode n : list) {
            entries.add(entry(n));
        }
        return new EntryMetadata(text(root, "identity"), entries);
    }

    private static Entry entry(JsonNode n) throws MalformedMetadataException {
        try {
            JsonNode attested = n.path("attested");
            if (!attested.isBoolean()) {
                throw new MalformedMetadataException("entry without boolean \"attested\"");
            }
            return new Entry(text(n, "x5t#S256"), text(n, "clientId"), text(n, "tenantId"), text(n, "tokenEndpoint"),
                    Instant.parse(text(n, "renewAt")), KeyProtection.valueOf(text(n, "keyProtection")),
                    attested.booleanValue(), Instant.parse(text(n, "notAfter")));
        } catch (RuntimeException e) {
            throw new MalformedMetadataException("entry with an unreadable time or key protection");
        }
    }

    private static String text(JsonNode n, String field) throws MalformedMetadataException {
        JsonNode v = n.path(field);
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new MalformedMetadataException("missing \"" + field + "\"");
        }
        return v.asText();
    }
}
