package io.msiagent.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.Map;

/**
 * What a command prints on stdout: one JSON object (or array) per line with {@code --json}, else
 * aligned {@code key: value} lines for people.
 */
final class Output {
    private Output() {
    }

    /*
     * The values are maps, lists, strings, numbers and booleans, so Jackson's streaming generator is
     * enough; databind's ObjectMapper would cost a one-shot command ~400 more classes at start-up.
     */
    private static final class Json {
        static final JsonFactory FACTORY = new JsonFactory();
    }

    static String json(Object value) {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = Json.FACTORY.createGenerator(text)) {
            write(g, value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write JSON: " + e.getMessage(), e);
        }
        return text.toString();
    }

    private static void write(JsonGenerator g, Object value) throws IOException {
        if (value == null) {
            g.writeNull();
        } else if (value instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeFieldName(String.valueOf(e.getKey()));
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (value instanceof Collection<?> list) {
            g.writeStartArray();
            for (Object item : list) {
                write(g, item);
            }
            g.writeEndArray();
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            g.writeNumber(((Number) value).longValue());
        } else if (value instanceof Number n) {
            g.writeNumber(n.doubleValue());
        } else {
            g.writeString(value.toString());
        }
    }

    static void printJson(PrintStream out, Object value) {
        out.println(json(value));
        out.flush();
    }

    /** {@code key: value} lines, keys padded to one column; null values are left out. */
    static void printText(PrintStream out, Map<String, ?> fields) {
        int width = fields.keySet().stream().mapToInt(String::length).max().orElse(0) + 1;
        StringBuilder lines = new StringBuilder();
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            Object v = e.getValue();
            if (v == null) {
                continue;
            }
            String value = v instanceof Collection<?> c ? String.join(", ", c.stream().map(String::valueOf).toList()) : v.toString();
            lines.append(e.getKey()).append(':').append(" ".repeat(width - e.getKey().length())).append(value)
                    .append(System.lineSeparator());
        }
        out.print(lines);
        out.flush();
    }
}
