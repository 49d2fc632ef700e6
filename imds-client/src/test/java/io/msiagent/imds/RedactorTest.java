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
    void secretsUnderOtherNamesAndInOtherShapesAreRemoved() {
        String[] leaks = {
            "{\"error\":\"x\",\"error_description\":\"got {\\\"access_token\\\":\\\"opaque-SECRET-1\\\"}\"}", // JSON quoted in JSON
            "{\"token\":\"opaque-SECRET-2\",\"accessToken\":\"opaque-SECRET-3\",\"password\":\"opaque SECRET-4\"}",
            "Authorization: Bearer opaque-SECRET-5",
            "echo access_token:opaque-SECRET-6 and client_secret = opaque-SECRET-7",
        };
        for (String leak : leaks) {
            String out = Redactor.excerpt(leak);
            assertFalse(out.contains("SECRET"), leak + " -> " + out);
        }
    }

    @Test
    void pemBlocksAreRemovedWholeRawOrEscaped() {
        String line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + "x".repeat(12);
        String pem = "-----BEGIN PRIVATE KEY-----\n" + (line + "\n").repeat(3) + "-----END PRIVATE KEY-----";
        assertEquals("key: <redacted-pem> end", Redactor.excerpt("key: " + pem + " end"));
        String escaped = "{\"detail\":\"" + pem.replace("\n", "\\n") + "\"}";
        assertEquals("{\"detail\":\"<redacted-pem>\"}", Redactor.excerpt(escaped));
        assertFalse(Redactor.excerpt("cut " + pem.substring(0, 80)).contains("MIIE"), "a PEM cut before its END line");
    }

    @Test
    void wordsAroundSecretsStay() {
        assertEquals("invalid token: expired; token_type=bearer; tokenEndpoint=https://x/t",
                Redactor.excerpt("invalid token: expired; token_type=bearer; tokenEndpoint=https://x/t"));
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
