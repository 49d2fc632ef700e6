package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The metadata file beside the PEM: what it writes reads back, and what it refuses. */
class EntryMetadataTest {
    private static final EntryMetadata.Entry ENTRY = new EntryMetadata.Entry("x5t", "client", "tenant",
            "https://login/t/oauth2/v2.0/token", Instant.parse("2026-11-26T05:31:38.758Z"), KeyProtection.SOFTWARE, true,
            Instant.parse("2026-11-29T15:03:28Z"));

    @Test
    void roundTripsThroughTheFileAndReadsLikeTheDocumentedLayout() throws Exception {
        EntryMetadata meta = new EntryMetadata("client_id=abc", List.of(ENTRY));
        EntryMetadata back = EntryMetadata.parse(meta.toJson());
        assertEquals("client_id=abc", back.identity());
        assertEquals(List.of(ENTRY), back.entries());
        String text = new String(meta.toJson(), StandardCharsets.UTF_8);
        assertTrue(text.startsWith("{\n  \"formatVersion\" : 1,\n  \"identity\" : \"client_id=abc\",\n  \"entries\" : [\n    {\n"
                + "      \"x5t#S256\" : \"x5t\","), text);
        assertTrue(text.endsWith("}\n"), text);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"formatVersion\":2,\"identity\":\"system\",\"entries\":[]}",
        "{\"formatVersion\":\"1\",\"identity\":\"system\",\"entries\":[]}",
        "{\"formatVersion\":1,\"identity\":\"system\"}",
        "{\"formatVersion\":1,\"entries\":[]}",
        "{\"formatVersion\":1,\"identity\":\"system\",\"entries\":[1]}",
        "{\"formatVersion\":1,\"identity\":\"system\",\"entries\":[{\"x5t#S256\":\"a\"}]}",
        "{\"formatVersion\":1, \"entr",
        "[]"})
    void refusesWhatItCannotUse(String json) {
        EntryMetadata.MalformedMetadataException e = assertThrows(EntryMetadata.MalformedMetadataException.class,
                () -> EntryMetadata.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(!e.getMessage().isBlank(), json);
    }
}
