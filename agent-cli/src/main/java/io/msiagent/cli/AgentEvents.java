package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The agent's event lines on stdout: one JSON object per line with {@code --json}
 * ({@code time, event, identity}, then the event's fields), else {@code <time> <EVENT> <identity> key=value ...}.
 * Lines are whole: concurrent events never interleave; none follows the last (STOPPED).
 */
final class AgentEvents {
    private final PrintStream out;
    private final boolean json;
    private final ManagedIdentityId identity;
    private final Clock clock;
    private boolean closed;

    AgentEvents(PrintStream out, boolean json, ManagedIdentityId identity, Clock clock) {
        this.out = out;
        this.json = json;
        this.identity = identity;
        this.clock = clock;
    }

    /** A new event's fields, starting with time, event and identity. */
    Map<String, Object> event(String name) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", clock.instant().toString());
        m.put("event", name);
        m.put("identity", identity.toString());
        return m;
    }

    /** The credential fields an event about {@code c} carries. */
    static Map<String, Object> credential(Map<String, Object> m, MtlsCredential c) {
        if (c != null) {
            m.put("x5tS256", c.x5tS256());
            m.put("serialNumber", c.serialNumberHex());
            m.put("notBefore", c.notBefore().toString());
            m.put("notAfter", c.notAfter().toString());
            m.put("renewAt", c.renewAt().toString());
            m.put("generation", c.generation());
            m.put("keyProtection", c.keyProtection().name());
        }
        return m;
    }

    static Object seconds(Duration d) {
        return d == null ? null : d.toMillis() / 1000.0;
    }

    static Object seconds(Instant from, Instant to) {
        return seconds(Duration.between(from, to));
    }

    /** Emits {@code event} and nothing after it: STOPPED is the last line, whatever a thread still stopping reports. */
    synchronized void emitLast(Map<String, Object> event) {
        emit(event);
        closed = true;
    }

    synchronized void emit(Map<String, Object> event) {
        if (closed) {
            return;
        }
        if (json) {
            out.println(Output.json(event));
        } else {
            StringBuilder b = new StringBuilder();
            b.append(event.get("time")).append(' ').append(event.get("event")).append(' ').append(event.get("identity"));
            for (Map.Entry<String, Object> e : event.entrySet()) {
                if (e.getValue() != null && !e.getKey().equals("time") && !e.getKey().equals("event") && !e.getKey().equals("identity")) {
                    String v = e.getValue().toString();
                    b.append(' ').append(e.getKey()).append('=').append(v.contains(" ") ? '"' + v + '"' : v);
                }
            }
            out.println(b);
        }
        out.flush();
    }
}
