package io.msiagent.imds;

import java.time.Instant;
import java.util.Objects;

/**
 * An access token from the mTLS token endpoint. {@code x5tS256} is base64url(SHA-256(DER)) of the
 * client certificate that was presented in the TLS handshake which carried the request: the
 * certificate the token is bound to. {@link #toString()} never shows the token.
 */
public record AccessToken(String token, TokenType tokenType, Instant expiresOn, String x5tS256) {
    public AccessToken {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(tokenType, "tokenType");
        Objects.requireNonNull(expiresOn, "expiresOn");
        Objects.requireNonNull(x5tS256, "x5tS256");
    }

    /** The value of an {@code Authorization} header: {@code "mtls_pop <token>"} or {@code "Bearer <token>"}. */
    public String authorizationHeader() {
        return (tokenType == TokenType.MTLS_POP ? "mtls_pop " : "Bearer ") + token;
    }

    @Override
    public String toString() {
        return "AccessToken[type=" + tokenType.wireName() + ", expiresOn=" + expiresOn + ", x5t#S256=" + x5tS256
                + ", token=<redacted>]";
    }
}
