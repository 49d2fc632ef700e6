package io.msiagent.imds;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/** Reads the token endpoint's replies (protocol §6.5): the token, and the OAuth error of a refusal. */
final class TokenReplies {
    private TokenReplies() {
    }

    /** The OAuth error of a refusal; every part may be null. */
    record OAuthError(String error, String description, String aadstsCode, String traceId) {
    }

    /**
     * A 200 reply: {@code access_token}, {@code token_type} (must equal {@code asked},
     * case-insensitively), {@code expires_in} (number or numeric string, from {@code now}) or
     * {@code expires_on} (epoch seconds).
     *
     * @throws TokenTypeMismatch when token_type is missing or another type
     */
    static AccessToken token(byte[] body, TokenType asked, Instant now, String x5tS256)
            throws ReplyFormatException, TokenTypeMismatch {
        JsonReply json = JsonReply.parse(body);
        String token = json.requiredString("access_token");
        Optional<String> type = json.optionalString("token_type");
        if (type.isEmpty()) {
            throw new TokenTypeMismatch("token_type_missing", "the reply has no token_type (asked for "
                    + asked.wireName() + ")");
        }
        if (!type.get().equalsIgnoreCase(asked.wireName())) {
            throw new TokenTypeMismatch("token_type_mismatch", "the reply's token_type is '"
                    + Redactor.excerpt(type.get()) + "', asked for '" + asked.wireName() + "'");
        }
        return new AccessToken(token, asked, expiry(json, now), x5tS256);
    }

    /** A token that is expired on arrival (or whose expiry is out of range) is no usable token. */
    private static Instant expiry(JsonReply json, Instant now) throws ReplyFormatException {
        Optional<Long> expiresIn = json.optionalLong("expires_in");
        if (expiresIn.isPresent()) {
            long seconds = expiresIn.get();
            if (seconds <= 0) {
                throw new ReplyFormatException("'expires_in' is " + seconds + ": the token is expired on arrival");
            }
            try {
                return now.plusSeconds(seconds);
            } catch (ArithmeticException | DateTimeException e) {
                throw new ReplyFormatException("'expires_in' " + seconds + " is out of range");
            }
        }
        long epochSeconds = json.optionalLong("expires_on").orElseThrow(
                () -> new ReplyFormatException("the reply has neither 'expires_in' nor 'expires_on'"));
        Instant expiresOn;
        try {
            expiresOn = Instant.ofEpochSecond(epochSeconds);
        } catch (DateTimeException e) {
            throw new ReplyFormatException("'expires_on' " + epochSeconds + " is out of range");
        }
        if (!expiresOn.isAfter(now)) {
            throw new ReplyFormatException("'expires_on' " + epochSeconds + " (" + expiresOn + ") is not after now (" + now
                    + "): the token is expired on arrival, or this machine's clock is far off");
        }
        return expiresOn;
    }

    /** Reads error, error_description and the first of error_codes (or an AADSTS code in the description). */
    static OAuthError error(byte[] body) {
        try {
            JsonReply json = JsonReply.parse(body);
            String description = json.lenientString("error_description").orElse(null);
            String code = json.firstLongOfArray("error_codes").map(c -> "AADSTS" + c).orElseGet(() -> aadstsIn(description));
            return new OAuthError(json.lenientString("error").orElse(null), description, code,
                    json.lenientString("trace_id").orElse(null));
        } catch (ReplyFormatException notJson) {
            return new OAuthError(null, null, null, null);
        }
    }

    private static String aadstsIn(String description) {
        if (description == null) {
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("AADSTS\\d+").matcher(description);
        return m.find() ? m.group() : null;
    }

    /** base64url-no-padding SHA-256 of the DER of the first (leaf) certificate, or empty. */
    static Optional<String> x5tS256(List<Certificate> presented) {
        if (presented == null || presented.isEmpty()) {
            return Optional.empty();
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(presented.get(0).getEncoded());
            return Optional.of(Base64.getUrlEncoder().withoutPadding().encodeToString(digest));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot hash the client certificate", e);
        }
    }

    /** token_type missing or not the one asked for; {@code code} is MSAL.NET's name for it. */
    static final class TokenTypeMismatch extends Exception {
        private static final long serialVersionUID = 1L;
        private final String code;

        TokenTypeMismatch(String code, String message) {
            super(message);
            this.code = code;
        }

        String code() {
            return code;
        }
    }
}
