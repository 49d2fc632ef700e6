package io.msiagent.imds;

import java.time.Duration;
import javax.net.ssl.SSLHandshakeException;
import okhttp3.HttpUrl;

/**
 * Turns the failures of one token request into {@link TokenEndpointException}s whose messages name
 * the status, the OAuth error and AADSTS code, both request ids and what to do. Body content only
 * ever appears redacted.
 */
final class TokenErrors {
    private final String where;
    private final String requestId;
    private final Duration deadline;

    TokenErrors(HttpUrl url, String requestId, Duration deadline) {
        this.where = url.scheme() + "://" + url.host() + (url.port() == 443 ? "" : ":" + url.port())
                + url.encodedPath();
        this.requestId = requestId;
        this.deadline = deadline;
    }

    TokenEndpointException failed(Outcome outcome) {
        if (outcome.reply() == null) {
            String advice = outcome.failure() instanceof SSLHandshakeException
                    ? "The TLS handshake failed: check that a current client certificate is configured and that"
                    + " the server's certificate is trusted."
                    : "Check network access to the token endpoint, and that it accepts our client certificate.";
            String when = outcome.ending() == Outcome.Ending.DEADLINE
                    ? "within the call deadline of " + Durations.human(deadline)
                    : "after " + outcome.attempts() + " attempt(s)";
            return new TokenEndpointException("token request to " + where + " failed: " + outcome.describe() + " "
                    + when + " (" + ids(null) + "). " + advice, -1, null, null, requestId, null, outcome.failure());
        }
        Reply reply = outcome.reply();
        TokenReplies.OAuthError e = TokenReplies.error(reply.body().bytes());
        StringBuilder m = new StringBuilder("token endpoint ").append(where).append(" refused the request: HTTP ")
                .append(reply.status());
        if (e.error() != null) {
            m.append(' ').append(Redactor.excerpt(e.error()));
        }
        if (e.aadstsCode() != null) {
            m.append(" (").append(e.aadstsCode()).append(')');
        }
        m.append(" after ").append(outcome.attempts()).append(" attempt(s)");
        String detail = e.description() != null ? e.description() : e.error() == null ? reply.body().text() : null;
        if (detail != null && !detail.isBlank()) {
            m.append(": ").append(Redactor.excerpt(detail));
        }
        m.append(" (").append(ids(reply)).append(e.traceId() == null ? "" : ", trace_id " + Redactor.excerpt(e.traceId()))
                .append("). ").append(advice(reply.status(), e.error()));
        return new TokenEndpointException(m.toString(), reply.status(), e.error(), e.aadstsCode(), requestId,
                reply.serverRequestId(), null);
    }

    TokenEndpointException noClientCertificate(Reply reply) {
        return new TokenEndpointException("token endpoint " + where + " answered HTTP " + reply.status()
                + ", but no client certificate was presented in the TLS handshake (" + ids(reply) + "): the socket"
                + " factory's key manager offered none, so no token bound to our credential can exist. Check that"
                + " the credential is loaded into the key manager. Any token in the reply was discarded.",
                reply.status(), null, null, requestId, reply.serverRequestId(), null);
    }

    TokenEndpointException malformed(Reply reply, String problem, Throwable cause) {
        return new TokenEndpointException("token endpoint " + where + " replied HTTP " + reply.status() + " but "
                + problem + " (" + ids(reply) + "); it does not answer like an OAuth 2.0 token endpoint.",
                reply.status(), null, null, requestId, reply.serverRequestId(), cause);
    }

    TokenEndpointException tokenType(Reply reply, TokenReplies.TokenTypeMismatch e) {
        return new TokenEndpointException("token endpoint " + where + " replied HTTP " + reply.status() + " but "
                + e.getMessage() + " (" + ids(reply) + "): the token is not usable as asked and was discarded. An"
                + " unattested credential may only get bearer tokens.", reply.status(), e.code(), null, requestId,
                reply.serverRequestId(), e);
    }

    private String ids(Reply reply) {
        String server = reply == null ? null : reply.serverRequestId();
        return "client-request-id " + requestId + ", x-ms-request-id "
                + (server == null ? "none" : Redactor.excerpt(server));
    }

    private static String advice(int status, String error) {
        if ("invalid_client".equals(error)) {
            return "The client certificate was not accepted (revoked, expired, or not issued for this client id):"
                    + " get a new credential from IMDS and try again.";
        }
        if ("invalid_scope".equals(error) || "invalid_resource".equals(error)) {
            return "Check the resource the token is asked for.";
        }
        if (status >= 500) {
            return "The token service is unavailable: try again later; quote the request ids if it persists.";
        }
        return "Quote the request ids if you contact Azure support.";
    }
}
