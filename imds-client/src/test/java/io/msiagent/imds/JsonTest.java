package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The library's JSON: what it accepts, what it refuses and how it says so, and that what it writes reads back. */
class JsonTest {
    private static Object parse(String json) throws Json.SyntaxException {
        return Json.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsRfc8259Json() throws Exception {
        Object tree = parse(" {\"a\" : 1, \"b\":[true,false,null,-0.5e1,\"x\\\"y\\\\z\\/\\u00e9\\n\"], \"c\":{}, \"d\":[],"
                + " \"big\": 123456789012345678901234567890, \"max\": 9223372036854775807}\n");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", 1L);
        expected.put("b", Arrays.asList(true, false, null, -5.0, "x\"y\\z/\u00e9\n"));
        expected.put("c", Map.of());
        expected.put("d", List.of());
        expected.put("big", new BigInteger("123456789012345678901234567890"));
        expected.put("max", Long.MAX_VALUE);
        assertEquals(expected, tree);
    }

    @Test
    void toleratesATrailingCommaAsMsalNetsSerializerDoes() throws Exception {
        assertEquals(Map.of("a", List.of(1L, 2L)), parse("{\"a\":[1,2,],}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "{,}", "[,]", "{\"a\":1,,}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":-x}", "{\"a\":1ex}", "{\"a\":+1}", "{\"a\":trux}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12G4\"}", "{\"a\":\"tab\there\"}", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":1,\"a\":2}",
        "NaN", "{\"a\":Infinity}", "\"x\" \"y\"", "<html>secret</html>"})
    void refusesWhatIsNotWellFormedJsonSayingWhereNotWhat(String json) {
        Json.SyntaxException e = assertThrows(Json.SyntaxException.class, () -> parse(json), json);
        assertFalse(e.truncated(), json + ": " + e.getMessage());
        assertTrue(e.getMessage().matches(".* at line \\d+, column \\d+"), e.getMessage());
        assertFalse(e.getMessage().contains("secret") || e.getMessage().contains("html"), "no content quoted: " + e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "[1,", "{\"a\":\"x", "{\"a\":\"\\",
        "{\"a\":\"\\u12", "{\"a\":tr", "{\"a\":-", "{\"a\":1e", "{\"a\":1."})
    void tellsAnEarlyEndApart(String json) {
        Json.SyntaxException e = assertThrows(Json.SyntaxException.class, () -> parse(json), json);
        assertTrue(e.truncated(), json + ": " + e.getMessage());
    }

    @Test
    void refusesBytesThatAreNotUtf8AndNestingBeyondTheBound() throws Exception {
        byte[] latin1 = "{\"a\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        assertThrows(Json.SyntaxException.class, () -> Json.parse(latin1));
        parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH));
        assertThrows(Json.SyntaxException.class,
                () -> parse("[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1)));
        // A bomb of brackets is refused at the bound, not by a StackOverflowError.
        assertThrows(Json.SyntaxException.class, () -> parse("[".repeat(100_000)));
    }

    @Test
    void whatItWritesReadsBackUnchangedHereAndInJackson() throws Exception {
        Map<String, Object> tree = new LinkedHashMap<>();
        tree.put("formatVersion", 1L);
        tree.put("text", "quote \" backslash \\ newline \n tab \t bell \u0007 snowman \u2603 slash /");
        tree.put("list", Arrays.asList(true, null, 7L, 2.5, Map.of("k", "v")));
        tree.put("empty", Map.of());
        tree.put("emptyList", List.of());
        for (String text : List.of(Json.write(tree), Json.writeIndented(tree))) {
            assertEquals(tree, Json.parse(text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(new JsonMapper().readTree(Json.write(tree)), new JsonMapper().readTree(text), "Jackson reads the same");
        }
        assertFalse(Json.write(tree).contains("\n"), "compact is one line");
        assertTrue(Json.writeIndented(Map.of("a", 1L)).equals("{\n  \"a\" : 1\n}\n"), Json.writeIndented(Map.of("a", 1L)));
        assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(Double.NaN)));
    }
}
