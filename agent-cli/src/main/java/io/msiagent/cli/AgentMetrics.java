package io.msiagent.cli;

import io.msiagent.core.CredentialState;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** What the agent knows about its credential, for {@code /metrics} and {@code /readyz}. */
final class AgentMetrics {
    private final ManagedIdentityId identity;
    private final Clock clock;
    private final AtomicLong renewals = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile MtlsCredential credential;
    private volatile Duration lastRenewalDuration;
    private volatile String lastProblem = "starting: no credential acquired yet";

    AgentMetrics(ManagedIdentityId identity, Clock clock) {
        this.identity = identity;
        this.clock = clock;
    }

    MtlsCredential credential() {
        return credential;
    }

    /** The credential served from start on; {@code issuance}: how long issuing it took, or null when it came from the store. */
    void serving(MtlsCredential c, Duration issuance) {
        if (issuance != null) {
            lastRenewalDuration = issuance; // the gauge is "the last issuance", the one at start included
        }
        credential = c;
        lastProblem = null;
    }

    void renewed(MtlsCredential c, Duration duration) {
        renewals.incrementAndGet();
        serving(c, duration);
    }

    void failed(String problem) {
        failures.incrementAndGet();
        lastProblem = problem;
    }

    void expired(MtlsCredential c, String problem) {
        if (credential == c) {
            credential = null;
        }
        lastProblem = problem;
    }

    /** Prometheus text exposition format 0.0.4. */
    String prometheus() {
        String label = "{identity=\"" + identity.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
        MtlsCredential c = credential;
        StringBuilder b = new StringBuilder();
        gauge(b, "msi_agent_certificate_not_after_seconds", "notAfter of the served certificate (Unix seconds).", label,
                c == null ? null : (double) c.notAfter().getEpochSecond());
        gauge(b, "msi_agent_certificate_renew_at_seconds", "Planned renewal of the served certificate (Unix seconds).", label,
                c == null ? null : c.renewAt().toEpochMilli() / 1000.0);
        counter(b, "msi_agent_renewals_total", "Credentials renewed (issued, or adopted from the store) since start.", label, renewals.get());
        counter(b, "msi_agent_renewal_failures_total", "Failed renewal or acquisition attempts since start.", label, failures.get());
        Duration d = lastRenewalDuration;
        gauge(b, "msi_agent_last_renewal_duration_seconds", "Duration of the last issuance (store lock to saved).", label,
                d == null ? null : d.toNanos() / 1e9);
        gauge(b, "msi_agent_ready", "1 while a valid credential is held.", label, ready() ? 1.0 : 0.0);
        return b.toString();
    }

    private static void gauge(StringBuilder b, String name, String help, String label, Double value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" gauge\n");
        if (value != null) {
            b.append(name).append(label).append(' ').append(format(value)).append('\n');
        }
    }

    private static void counter(StringBuilder b, String name, String help, String label, long value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" counter\n");
        b.append(name).append(label).append(' ').append(value).append('\n');
    }

    private static String format(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    boolean ready() {
        MtlsCredential c = credential;
        return c != null && clock.instant().isBefore(c.notAfter());
    }

    /** The /readyz body: state, reason, and the served certificate's thumbprint and times. */
    Map<String, Object> readiness() {
        Instant now = clock.instant();
        MtlsCredential c = credential;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("identity", identity.toString());
        if (c == null) {
            m.put("ready", false);
            m.put("state", CredentialState.MISSING.name());
            m.put("reason", lastProblem != null ? lastProblem : "no credential held");
            // the same keys whatever the state, so that a probe reading them finds null rather than nothing
            m.put("x5tS256", null);
            m.put("notAfter", null);
            m.put("renewAt", null);
            return m;
        }
        CredentialState state = c.stateAt(now);
        m.put("ready", state != CredentialState.EXPIRED);
        m.put("state", state.name());
        String problem = lastProblem;
        m.put("reason", problem != null ? problem : StatusCommand.describe(c, state, now));
        m.put("x5tS256", c.x5tS256());
        m.put("notAfter", c.notAfter().toString());
        m.put("renewAt", c.renewAt().toString());
        return m;
    }
}
