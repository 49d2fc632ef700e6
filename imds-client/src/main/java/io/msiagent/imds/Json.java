package io.msiagent.imds;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small JSON reader and writer msi-agent's library uses: for IMDS and token endpoint replies,
 * request bodies, and the Linux store's metadata file. Not a general JSON library. It reads UTF-8
 * RFC 8259 JSON into a tree of {@code Map<String, Object>} (insertion-ordered), {@code List<Object>},
 * {@code String}, {@code Long} (integers; {@code BigInteger} beyond a long), {@code Double} (other
 * numbers), {@code Boolean} and null. Duplicate member names, trailing content and nesting deeper
 * than {@link #MAX_DEPTH} are refused; a trailing comma before {@code ]} or {@code }} is tolerated
 * (MSAL.NET's serializer accepts it, and IMDS is written against that).
 *
 * <p>Why not Jackson: these documents are a handful of flat fields, and reading them is on every
 * cold start; Jackson's streaming parser alone cost a fresh JVM more than parsing the PEM key and
 * certificate, its databind several times that (docs/BENCHMARKS.md). It also keeps the library
 * free of a dependency whose versions applications often have to reconcile.
 *
 * <p>Error messages give the position and the kind of problem, never the content: a body that is
 * not what we expect may hold anything.
 */
public final class Json {
    /** Objects and arrays nested deeper than this are refused (no reply we read nests more than 3). */
    public static final int MAX_DEPTH = 16;

    /** Not well-formed JSON. {@link #truncated()} tells an early end apart from other problems. */
    public static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;
        private final boolean truncated;

        SyntaxException(String message, boolean truncated) {
            super(message);
            this.truncated = truncated;
        }

        /** The input ended inside a value. */
        public boolean truncated() {
            return truncated;
        }
    }

    private final String text;
    private int pos;

    private Json(String text) {
        this.text = text;
    }

    /** The value {@code utf8} holds; see the class comment for the types. */
    public static Object parse(byte[] utf8) throws SyntaxException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8)).toString();
        } catch (CharacterCodingException e) {
            throw new SyntaxException("not UTF-8", false);
        }
        Json p = new Json(text);
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) {
            throw p.error("trailing content after the value");
        }
        return value;
    }

    private Object value(int depth) throws SyntaxException {
        skipWhitespace();
        if (pos >= text.length()) {
            throw truncatedHere();
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected character");
        }
    }

    private Map<String, Object> object(int depth) throws SyntaxException {
        checkDepth(depth);
        pos++;
        Map<String, Object> map = new LinkedHashMap<>();
        while (true) {
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            if (pos >= text.length()) {
                throw truncatedHere();
            }
            if (peek() != '"') {
                throw error("expected a member name");
            }
            int at = pos;
            String name = string();
            skipWhitespace();
            expect(':');
            if (map.containsKey(name)) {
                pos = at;
                // A member name is structure, not content; it is shortened all the same.
                throw error("duplicate field '" + (name.length() > 40 ? name.substring(0, 40) + "..." : name) + "'");
            }
            map.put(name, value(depth));
            skipWhitespace();
            if (peek() == ',') {
                pos++;
            } else {
                expect('}');
                return map;
            }
        }
    }

    private List<Object> array(int depth) throws SyntaxException {
        checkDepth(depth);
        pos++;
        List<Object> list = new ArrayList<>();
        while (true) {
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return list;
            }
            list.add(value(depth));
            skipWhitespace();
            if (peek() == ',') {
                pos++;
            } else {
                expect(']');
                return list;
            }
        }
    }

    private String string() throws SyntaxException {
        pos++;
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw truncatedHere();
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c < 0x20) {
                pos--;
                throw error("control character in a string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= text.length()) {
                throw truncatedHere();
            }
            char e = text.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (pos + 4 > text.length()) {
                        throw truncatedHere();
                    }
                    int code = 0;
                    for (int i = 0; i < 4; i++) {
                        int digit = Character.digit(text.charAt(pos++), 16);
                        if (digit < 0) {
                            throw error("bad \\u escape");
                        }
                        code = code * 16 + digit;
                    }
                    b.append((char) code);
                }
                default -> throw error("bad escape");
            }
        }
    }

    private Object number() throws SyntaxException {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (!digits()) {
            throw badNumber();
        }
        boolean integral = true;
        if (peek() == '.') {
            pos++;
            integral = false;
            if (!digits()) {
                throw badNumber();
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            pos++;
            integral = false;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!digits()) {
                throw badNumber();
            }
        }
        String n = text.substring(start, pos);
        if (!integral) {
            return Double.parseDouble(n);
        }
        if (n.length() < 19) {
            return Long.parseLong(n);
        }
        BigInteger big = new BigInteger(n);
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }

    private SyntaxException badNumber() {
        return pos >= text.length() ? truncatedHere() : error("bad number");
    }

    private boolean digits() {
        int start = pos;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
            pos++;
        }
        return pos > start;
    }

    private Object literal(String word, Object value) throws SyntaxException {
        if (text.startsWith(word, pos)) {
            pos += word.length();
            return value;
        }
        if (word.startsWith(text.substring(pos))) {
            throw truncatedHere();
        }
        throw error("unexpected character");
    }

    private void checkDepth(int depth) throws SyntaxException {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
    }

    private void expect(char c) throws SyntaxException {
        if (pos >= text.length()) {
            throw truncatedHere();
        }
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private char peek() {
        return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private SyntaxException truncatedHere() {
        return new SyntaxException("truncated: the input ends at " + where(), true);
    }

    private SyntaxException error(String what) {
        return new SyntaxException(what + " at " + where(), false);
    }

    private String where() {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < pos && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return "line " + line + ", column " + (pos - lineStart + 1);
    }

    // ---------------------------------------------------------------- writing

    /** {@code value} (maps, lists, strings, numbers, booleans, null; anything else as its string) on one line. */
    public static String write(Object value) {
        StringBuilder b = new StringBuilder(256);
        write(b, value, -1);
        return b.toString();
    }

    /** {@code value} indented by two spaces per level, for files people read, with a final newline. */
    public static String writeIndented(Object value) {
        StringBuilder b = new StringBuilder(512);
        write(b, value, 0);
        return b.append('\n').toString();
    }

    /** {@code indent} < 0: compact. */
    private static void write(StringBuilder b, Object value, int indent) {
        if (value == null) {
            b.append("null");
        } else if (value instanceof Map<?, ?> map) {
            b.append('{');
            String sep = "";
            for (Map.Entry<?, ?> e : map.entrySet()) {
                b.append(sep);
                newline(b, indent, 1);
                quote(b, String.valueOf(e.getKey()));
                b.append(indent < 0 ? ":" : " : ");
                write(b, e.getValue(), indent < 0 ? -1 : indent + 1);
                sep = ",";
            }
            if (!map.isEmpty()) {
                newline(b, indent, 0);
            }
            b.append('}');
        } else if (value instanceof List<?> list) {
            b.append('[');
            String sep = "";
            for (Object item : list) {
                b.append(sep);
                newline(b, indent, 1);
                write(b, item, indent < 0 ? -1 : indent + 1);
                sep = ",";
            }
            if (!list.isEmpty()) {
                newline(b, indent, 0);
            }
            b.append(']');
        } else if (value instanceof Boolean || value instanceof Long || value instanceof Integer
                || value instanceof Short || value instanceof Byte || value instanceof BigInteger) {
            b.append(value);
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("JSON has no " + d);
            }
            b.append(d);
        } else {
            quote(b, value.toString());
        }
    }

    private static void newline(StringBuilder b, int indent, int extra) {
        if (indent >= 0) {
            b.append('\n').append("  ".repeat(indent + extra));
        }
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
