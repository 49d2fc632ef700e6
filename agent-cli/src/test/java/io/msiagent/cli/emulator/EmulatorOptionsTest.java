package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Parsing of what the CLI flags carry: durations, fault specs, identity specs, config limits. */
class EmulatorOptionsTest {

    @Test
    void durations() {
        assertEquals(Duration.ofSeconds(10), EmulatorDurations.parse("10s"));
        assertEquals(Duration.ofMinutes(15), EmulatorDurations.parse("15m"));
        assertEquals(Duration.ofHours(2), EmulatorDurations.parse("2h"));
        assertEquals(Duration.ofDays(7), EmulatorDurations.parse("7d"));
        assertEquals(Duration.ofMillis(500), EmulatorDurations.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), EmulatorDurations.parse("30"));
        assertEquals(Duration.ofMinutes(10), EmulatorDurations.parse("PT10M"));
        assertEquals(Duration.ofDays(7), EmulatorDurations.parse("P7D"));
        assertEquals(Duration.ofMinutes(90), EmulatorDurations.parse("pt1h30m"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EmulatorDurations.parse("7 weeks"));
        assertTrue(e.getMessage().contains("7 weeks"));
        assertThrows(IllegalArgumentException.class, () -> EmulatorDurations.parse(""));
    }

    @Test
    void certLifetimeHasAFloorOfTenSeconds() {
        assertEquals(Duration.ofSeconds(10), EmulatorConfig.builder().certLifetime(Duration.ofSeconds(10)).build()
                .certLifetime());
        assertEquals(EmulatorConfig.DEFAULT_CERT_LIFETIME, EmulatorConfig.defaults().certLifetime());
        assertThrows(IllegalArgumentException.class, () -> EmulatorConfig.builder().certLifetime(Duration.ofSeconds(9)));
    }

    @Test
    void duplicateIdentitiesAndSamePortsAreRefused() {
        EmulatedIdentity a = EmulatedIdentity.randomUserAssigned("a");
        assertThrows(IllegalArgumentException.class, () -> EmulatorConfig.builder().addUserAssigned(a).addUserAssigned(a)
                .build());
        assertThrows(IllegalArgumentException.class, () -> EmulatorConfig.builder().httpPort(5000).tlsPort(5000).build());
        assertThrows(IllegalArgumentException.class, () -> EmulatorConfig.builder().vmId(null).build());
    }

    @Test
    void faultSpecs() {
        FaultRule r = FaultRule.parse("kind=status;status=429;retry-after=5s;path=token;count=2");
        assertEquals(EmulatorPath.TOKEN, r.path());
        assertEquals(2, r.count());
        assertEquals(Fault.Kind.STATUS, r.fault().kind());
        assertEquals(429, r.fault().status());
        assertEquals(Duration.ofSeconds(5), r.fault().retryAfter());

        FaultRule drop = FaultRule.parse("drop-connection");
        assertNull(drop.path());
        assertEquals(1, drop.count());
        assertEquals(Fault.Kind.DROP_CONNECTION, drop.fault().kind());

        assertEquals(java.util.List.of("clientId", "tenantId"),
                FaultRule.parse("kind=missing-fields;fields=clientId,tenantId").fault().fields());
        assertEquals(Duration.ofSeconds(5), FaultRule.parse("kind=delay;delay=5s;path=getplatformmetadata").fault().delay());
        assertEquals(1024, FaultRule.parse("kind=huge-body;size=1024").fault().bodyBytes());
        assertEquals(1000613, FaultRule.parse("kind=invalid-client;code=1000613;status=401").fault().aadstsCode());

        assertThrows(IllegalArgumentException.class, () -> FaultRule.parse("kind=status"));
        assertThrows(IllegalArgumentException.class, () -> FaultRule.parse("kind=nope"));
        assertThrows(IllegalArgumentException.class, () -> FaultRule.parse("kind=expired-certificate;path=token"));
        assertThrows(IllegalArgumentException.class, () -> FaultRule.parse("kind=garbage-json;count=0"));
        assertThrows(IllegalArgumentException.class, () -> FaultRule.parse("kind=garbage-json;colour=red"));
    }

    @Test
    void userAssignedIdentitySpecs() {
        EmulatedIdentity full = EmulatedIdentity.parseUserAssigned(
                "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222,/subscriptions/s/x");
        assertEquals("11111111-1111-1111-1111-111111111111", full.clientId());
        assertEquals("22222222-2222-2222-2222-222222222222", full.objectId());
        assertEquals("/subscriptions/s/x", full.resourceId());
        EmulatedIdentity named = EmulatedIdentity.parseUserAssigned("reporting");
        assertTrue(named.resourceId().endsWith("/userAssignedIdentities/reporting"));
        assertEquals("UserAssigned", named.identityType());
        EmulatedIdentity onlyClient = EmulatedIdentity.parseUserAssigned("33333333-3333-3333-3333-333333333333");
        assertTrue(onlyClient.resourceId().endsWith("33333333-3333-3333-3333-333333333333"));
    }
}
