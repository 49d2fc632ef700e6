package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.testing.TestCredentials;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What /metrics and /readyz say at the agent's start, before any renewal. */
class AgentMetricsTest {
    private static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();

    @Test
    void theIssuanceAtStartIsTheLastIssuanceButNoRenewal() {
        AgentMetrics m = new AgentMetrics(SYSTEM, Clock.systemUTC());
        m.serving(TestCredentials.newCa().credential(SYSTEM), Duration.ofMillis(839));
        String body = m.prometheus();
        assertTrue(body.contains("msi_agent_last_renewal_duration_seconds{identity=\"system\"} 0.839\n"), body);
        assertTrue(body.contains("msi_agent_renewals_total{identity=\"system\"} 0\n"), body);
    }

    @Test
    void aCredentialTakenFromTheStoreAtStartHasNoIssuanceDuration() {
        AgentMetrics m = new AgentMetrics(SYSTEM, Clock.systemUTC());
        m.serving(TestCredentials.newCa().credential(SYSTEM), null);
        assertTrue(!m.prometheus().contains("msi_agent_last_renewal_duration_seconds{"), m.prometheus());
    }

    @Test
    void readinessHasTheSameKeysWithOrWithoutACredential() throws Exception {
        AgentMetrics m = new AgentMetrics(SYSTEM, Clock.systemUTC());
        JsonNode none = Cli.JSON.readTree(Output.json(m.readiness()));
        MtlsCredential c = TestCredentials.newCa().credential(SYSTEM);
        m.serving(c, null);
        JsonNode held = Cli.JSON.readTree(Output.json(m.readiness()));
        assertEquals(names(held), names(none));
        assertTrue(none.get("x5tS256").isNull() && none.get("notAfter").isNull() && none.get("renewAt").isNull(), none.toString());
        assertEquals(c.x5tS256(), held.get("x5tS256").asText());
    }

    private static List<String> names(JsonNode n) {
        List<String> names = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
