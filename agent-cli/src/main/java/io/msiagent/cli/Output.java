package io.msiagent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.PrintStream;
import java.util.Collection;
import java.util.Map;

/**
 * What a command prints on stdout: one JSON object (or array) per line with {@code --json}, else
 * aligned {@code key: value} lines for people.
 */
final class Output {
    private static final JsonMapper JSON = new JsonMapper();

    private Output() {
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    static void printJson(PrintStream out, Object value) {
        out.println(json(value));
        out.flush();
    }

    /** {@code key: value} lines, keys padded to one column; null values are left out. */
    static void printText(PrintStream out, Map<String, ?> fields) {
        int width = fields.keySet().stream().mapToInt(String::length).max().orElse(0) + 1;
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            Object v = e.getValue();
            if (v == null) {
                continue;
            }
            String value = v instanceof Collection<?> c ? String.join(", ", c.stream().map(String::valueOf).toList()) : v.toString();
            out.println(String.format("%-" + width + "s %s", e.getKey() + ":", value));
        }
        out.flush();
    }
}
