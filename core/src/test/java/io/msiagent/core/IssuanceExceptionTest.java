package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.imds.ImdsException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** The message a script or an operator reads when IMDS fails. */
class IssuanceExceptionTest {
    @Test
    void noReplyKeepsImdsClientsMessageNamingTheEndpointAndAddsNoSecondAdvice() {
        String fromClient = "IMDS getplatformmetadata: nothing listens at http://127.0.0.1:9 (connection refused; "
                + "x-ms-client-request-id r1, x-ms-request-id none); on an Azure VM IMDS answers there, elsewhere "
                + "MSI_AGENT_IMDS_ENDPOINT must name an IMDS emulator.";
        IssuanceException e = new IssuanceException("getplatformmetadata",
                new ImdsException(fromClient, -1, "r1", null, false, null, new ConnectException("refused")));
        assertTrue(e.getMessage().endsWith(fromClient), e.getMessage());
        assertFalse(e.getMessage().contains(".."), e.getMessage());
        assertFalse(e.getMessage().contains("169.254.169.254"), "the endpoint called is named, not the default: " + e.getMessage());
    }

    @Test
    void aStatusGetsOneAdviceSentenceAfterTheDetail() {
        IssuanceException e = new IssuanceException("issuecredential",
                new ImdsException("IMDS issuecredential replied HTTP 403.", 403, "r2", "s2", false, null, null));
        assertFalse(e.getMessage().contains(".."), e.getMessage());
        assertTrue(e.getMessage().contains("HTTP 403 (x-ms-client-request-id=r2, x-ms-request-id=s2)"), e.getMessage());
        assertEquals(1, e.getMessage().split("Check that the managed identity is assigned").length - 1, e.getMessage());
    }
}
