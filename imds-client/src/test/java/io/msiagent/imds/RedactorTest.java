package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RedactorTest {
    private static final String JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    @Test
    void jwtsAnywhereAreRemoved() {
        assertEquals("token <redacted-jwt> here", Redactor.excerpt("token " + JWT + " here"));
        assertEquals("cut <redacted-jwt>", Redactor.excerpt("cut eyJhbGciOiJSUzI1NiJ9.eyJzdW"));
    }

    @Test
    void tokenFieldsAreRemovedWhateverTheirValue() {
        String json = "{\"access_token\": \"opaque-secret-value\", \"attestation_token\":\"s2\", \"refresh_token\":"
                + "\"r\\\"3\", \"token_type\":\"mtls_pop\"}";
        String out = Redactor.excerpt(json);
        assertFalse(out.contains("opaque-secret-value") || out.contains("s2") || out.contains("r\\\"3"), out);
        assertTrue(out.contains("\"access_token\": \"<redacted>\""), out);
        assertTrue(out.contains("\"token_type\":\"mtls_pop\""), out);
        assertEquals("access_token=<redacted>&token_type=x", Redactor.excerpt("access_token=opaque&token_type=x"));
    }

    @Test
    void longBase64BlobsAreRemovedShortIdsStay() {
        String blob = "MIIB".repeat(40) + "==";
        String out = Redactor.excerpt("{\"certificate\":\"" + blob + "\",\"client_id\":\"d3adb33f-c0de-ed0c\"}");
        assertEquals("{\"certificate\":\"<redacted-blob>\",\"client_id\":\"d3adb33f-c0de-ed0c\"}", out);
    }

    @Test
    void excerptsAreShortAndSingleLine() {
        String out = Redactor.excerpt("line1\r\nline2 " + "x ".repeat(500));
        assertEquals(300, out.length());
        assertFalse(out.contains("\n") || out.contains("\r"));
        assertTrue(out.endsWith("..."));
        assertNull(Redactor.excerpt(null));
    }

    @Test
    void aSecretAtTheCutIsRemovedBeforeCutting() {
        String out = Redactor.excerpt("a".repeat(290) + " " + JWT);
        assertFalse(out.contains("eyJ"), out);
    }
}
