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
        "{\"formatVersion\":0,\"identity\":\"system\",\"entries\":[]}",
        "{\"formatVersion\":-99999999999999999999,\"identity\":\"system\",\"entries\":[]}",
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

    @ParameterizedTest
    @ValueSource(strings = {"2", "99999999999999999999"})
    void tellsANewerFormatFromACorruptOne(String version) {
        String json = "{\"formatVersion\":" + version + ",\"identity\":\"system\",\"entries\":[],\"newField\":{}}";
        EntryMetadata.NewerFormatException e = assertThrows(EntryMetadata.NewerFormatException.class,
                () -> EntryMetadata.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("formatVersion " + version + " was written by a newer msi-agent"), e.getMessage());
    }

    @Test
    void readsEveryInstantItWritesAsInstantParseDoes() {
        java.util.Random random = new java.util.Random(42);
        List<Instant> samples = new java.util.ArrayList<>(List.of(Instant.EPOCH, Instant.parse("0000-01-01T00:00:00Z"),
                Instant.parse("9999-12-31T23:59:59.999999999Z"), Instant.parse("2028-02-29T12:00:00Z"),
                Instant.parse("+10000-01-01T00:00:00Z"), Instant.parse("-0001-06-01T00:00:00.5Z")));
        for (int i = 0; i < 20_000; i++) {
            long seconds = random.nextLong(-62_000_000_000L, 253_402_300_799L);
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            samples.add(Instant.ofEpochSecond(seconds, nanos));
        }
        for (Instant t : samples) {
            assertEquals(t, EntryMetadata.instant(t.toString()), t.toString());
        }
        // Shapes Instant.toString never writes but Instant.parse accepts: read the same.
        for (String s : List.of("2026-11-22T17:55:34.1Z", "2026-11-22T17:55:34.12Z", "2026-11-22T17:55:34.1234Z",
                "2026-11-22T24:00:00Z", "2026-11-22T17:55:34.Z", "2026-11-22T17:55:34+01:00", "2026-12-31T23:59:60Z")) {
            assertEquals(Instant.parse(s), EntryMetadata.instant(s), s);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22T17:60:00Z",
        "2026-11-22T17:55:34.1234567890Z", "2026-11-22T17:55:34", "2026-11-2xT17:55:34Z", "2026-11-22 17:55:34Z",
        "２026-11-22T17:55:34Z", "2026-11-22T17:55:34.1a3Z", ""})
    void refusesAnInstantThatInstantParseRefuses(String s) {
        assertThrows(java.time.DateTimeException.class, () -> Instant.parse(s));
        assertThrows(java.time.DateTimeException.class, () -> EntryMetadata.instant(s));
    }
}
