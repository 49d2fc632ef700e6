package io.msiagent.cli;

import io.msiagent.imds.Json;
import java.io.PrintStream;
import java.util.Collection;
import java.util.Map;

/**
 * What a command prints on stdout: one JSON object (or array) per line with {@code --json}, else
 * aligned {@code key: value} lines for people.
 */
final class Output {
    private Output() {
    }

    static String json(Object value) {
        return Json.write(value);
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
