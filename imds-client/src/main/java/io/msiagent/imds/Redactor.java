package io.msiagent.imds;

import java.util.regex.Pattern;

/**
 * Turns a reply body into an excerpt that is safe to put in an exception message or a log line:
 * JWTs, token-valued JSON or form fields and long base64 blobs (certificates, CSRs, keys) are
 * replaced before the text is cut, so a secret split by the cut cannot leak either.
 */
final class Redactor {
    static final int MAX_EXCERPT = 300;

    private static final Pattern SECRET_FIELD = Pattern.compile(
            "(\"(?:access_token|refresh_token|id_token|attestation_token|client_assertion|client_secret|csr)\"\\s*:\\s*)"
                    + "\"(?:[^\"\\\\]|\\\\.)*\"",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern SECRET_FORM_FIELD = Pattern.compile(
            "((?:^|[?&\\s])(?:access_token|refresh_token|id_token|attestation_token|client_assertion|client_secret)=)[^&\\s]*",
            Pattern.CASE_INSENSITIVE);
    /** A JWT or JWS (header always starts with base64url of '{"'), also a cut-off one. */
    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]*){0,2}");
    private static final Pattern LONG_BASE64 = Pattern.compile("[A-Za-z0-9+/_-]{100,}={0,2}");
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cntrl}&&[^\\t]]+");

    private Redactor() {
    }

    /** The redacted text, cut to {@link #MAX_EXCERPT} characters; null for null, empty stays empty. */
    static String excerpt(String text) {
        if (text == null) {
            return null;
        }
        String safe = redact(text);
        safe = CONTROL.matcher(safe).replaceAll(" ").strip();
        return safe.length() <= MAX_EXCERPT ? safe : safe.substring(0, MAX_EXCERPT - 3) + "...";
    }

    /** The whole text with secrets replaced (not cut). */
    static String redact(String text) {
        String s = SECRET_FIELD.matcher(text).replaceAll("$1\"<redacted>\"");
        s = SECRET_FORM_FIELD.matcher(s).replaceAll("$1<redacted>");
        s = JWT.matcher(s).replaceAll("<redacted-jwt>");
        return LONG_BASE64.matcher(s).replaceAll("<redacted-blob>");
    }
}
