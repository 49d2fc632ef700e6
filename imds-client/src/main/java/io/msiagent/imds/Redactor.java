package io.msiagent.imds;

import java.util.regex.Pattern;

/**
 * Turns a reply body (or a transport error's text) into an excerpt that is safe to put in an
 * exception message or a log line: PEM blocks, JWTs, secret-valued fields (JSON, JSON quoted inside
 * JSON, forms, loose {@code name: value} text), Authorization values and long base64 blobs
 * (certificates, CSRs, keys) are replaced before the text is cut, so a secret split by the cut
 * cannot leak either.
 */
final class Redactor {
    static final int MAX_EXCERPT = 300;

    /**
     * Names whose values are secrets, whatever their spelling: access_token, accessToken, id_token,
     * attestation_token, client_secret, password, client_assertion, private_key ... (not token_type
     * or tokenEndpoint, which end otherwise). A CSR is no secret; as a long blob it goes anyway.
     */
    private static final String SECRET_NAME = "[A-Za-z0-9_-]*(?:token|secret|password|passwd|assertion|private_?key)";
    private static final Pattern PEM = Pattern.compile("-----BEGIN [A-Z0-9 ]{1,40}-----.*?(?:-----END [A-Z0-9 ]{1,40}-----|\\z)",
            Pattern.DOTALL);
    private static final Pattern SECRET_FIELD = Pattern.compile(
            "(\"" + SECRET_NAME + "\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"", Pattern.CASE_INSENSITIVE);
    /** The same inside a JSON string (an error description quoting a reply): {@code \"access_token\":\"...\"}. */
    private static final Pattern ESCAPED_SECRET_FIELD = Pattern.compile(
            "(\\\\\"" + SECRET_NAME + "\\\\\"\\s*:\\s*)\\\\\"(?:[^\\\\]|\\\\(?!\"))*\\\\\"", Pattern.CASE_INSENSITIVE);
    /**
     * Form fields and loose text: {@code access_token=...}, {@code access_token:...}. Not
     * {@code "token: "} followed by a space, which is prose ("invalid token: expired") more often.
     */
    private static final Pattern SECRET_ASSIGNMENT = Pattern.compile(
            "((?:^|[?&\\s,;{(\\[])" + SECRET_NAME + "(?:\\s*=\\s*|:))[^&\\s,;\"'})\\]]+", Pattern.CASE_INSENSITIVE);
    private static final Pattern AUTHORIZATION = Pattern.compile("\\b(Bearer|Basic)\\s+[A-Za-z0-9._~+/=-]+", Pattern.CASE_INSENSITIVE);
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
        String s = PEM.matcher(text).replaceAll("<redacted-pem>");
        s = SECRET_FIELD.matcher(s).replaceAll("$1\"<redacted>\"");
        s = ESCAPED_SECRET_FIELD.matcher(s).replaceAll("$1\\\\\"<redacted>\\\\\"");
        s = SECRET_ASSIGNMENT.matcher(s).replaceAll("$1<redacted>");
        s = AUTHORIZATION.matcher(s).replaceAll("$1 <redacted>");
        s = JWT.matcher(s).replaceAll("<redacted-jwt>");
        return LONG_BASE64.matcher(s).replaceAll("<redacted-blob>");
    }
}
