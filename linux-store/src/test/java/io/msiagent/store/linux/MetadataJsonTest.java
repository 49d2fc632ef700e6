package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The metadata file's JSON: what it accepts, what it refuses, and that what it writes reads back. */
class MetadataJsonTest {
    private static Object parse(String json) throws MetadataJson.SyntaxException {
        return MetadataJson.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsTheJsonOfTheFormat() throws Exception {
        Object tree = parse(" {\"a\" : 1, \"b\":[true,false,null,-0.5e1,\"x\\\"y\\\\z\\/\\u00e9\\n\"], \"c\":{}, \"d\":[]}\n");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", 1L);
        expected.put("b", Arrays.asList(true, false, null, -5.0, "x\"y\\z/\u00e9\n"));
        expected.put("c", Map.of());
        expected.put("d", List.of());
        assertEquals(expected, tree);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "{", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1,]", "[1 2]",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":\"x}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"tab\there\"}", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":1,\"a\":2}",
        "{\"a\":99999999999999999999}", "NaN", "{\"a\":Infinity}", "\"x\" \"y\""})
    void refusesWhatIsNotWellFormedJson(String json) {
        MetadataJson.SyntaxException e = assertThrows(MetadataJson.SyntaxException.class, () -> parse(json), json);
        assertTrue(e.getMessage().contains("offset") || e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void refusesBytesThatAreNotUtf8AndNestingBeyondTheBound() throws Exception {
        byte[] latin1 = "{\"a\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        assertThrows(MetadataJson.SyntaxException.class, () -> MetadataJson.parse(latin1));
        String deepOk = "[".repeat(MetadataJson.MAX_DEPTH) + "]".repeat(MetadataJson.MAX_DEPTH);
        parse(deepOk);
        String tooDeep = "[".repeat(MetadataJson.MAX_DEPTH + 1) + "]".repeat(MetadataJson.MAX_DEPTH + 1);
        assertThrows(MetadataJson.SyntaxException.class, () -> parse(tooDeep));
        // A bomb of brackets is refused at the bound, not by a StackOverflowError.
        assertThrows(MetadataJson.SyntaxException.class, () -> parse("[".repeat(100_000)));
    }

    @Test
    void whatItWritesReadsBackUnchanged() throws Exception {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("formatVersion", 1L);
        tree.put("text", "quote \" backslash \\ newline \n tab \t bell \u0007 snowman \u2603");
        tree.put("list", Arrays.asList(true, null, 7L, Map.of("k", "v")));
        tree.put("empty", Map.of());
        assertEquals(tree, MetadataJson.parse(MetadataJson.write(tree)));
    }

    @Test
    void entryMetadataRoundTripsThroughTheFile() throws Exception {
        EntryMetadata.Entry entry = new EntryMetadata.Entry("x5t", "client", "tenant", "https://login/t/oauth2/v2.0/token",
                Instant.parse("2026-11-26T05:31:38.758Z"), KeyProtection.SOFTWARE, true, Instant.parse("2026-11-29T15:03:28Z"));
        EntryMetadata meta = new EntryMetadata("client_id=abc", List.of(entry));
        EntryMetadata back = EntryMetadata.parse(meta.toJson());
        assertEquals("client_id=abc", back.identity());
        assertEquals(List.of(entry), back.entries());
        String text = new String(meta.toJson(), StandardCharsets.UTF_8);
        assertTrue(text.startsWith("{\n  \"formatVersion\" : 1,\n  \"identity\" : \"client_id=abc\""), text);
    }

    @Test
    void theFormatVersionMustBeOne() {
        byte[] v2 = "{\"formatVersion\":2,\"identity\":\"system\",\"entries\":[]}".getBytes(StandardCharsets.UTF_8);
        EntryMetadata.MalformedMetadataException e = assertThrows(EntryMetadata.MalformedMetadataException.class,
                () -> EntryMetadata.parse(v2));
        assertTrue(e.getMessage().contains("formatVersion 2"), e.getMessage());
    }
}
