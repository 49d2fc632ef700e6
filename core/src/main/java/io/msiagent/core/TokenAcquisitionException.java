package io.msiagent.core;

import io.msiagent.imds.TokenEndpointException;

/** The mTLS token endpoint refused or the TLS connection to it failed (after one re-mint and retry where that helps). */
public class TokenAcquisitionException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    private final transient TokenEndpointException tokenEndpointException;

    public TokenAcquisitionException(String resource, TokenEndpointException cause) {
        super(describe(resource, cause), cause);
        this.tokenEndpointException = cause;
    }

    /** The token endpoint's answer (status, OAuth error, AADSTS code, request ids). */
    public TokenEndpointException tokenEndpointException() {
        return tokenEndpointException;
    }

    private static String describe(String resource, TokenEndpointException e) {
        StringBuilder m = new StringBuilder("Token request for ").append(resource).append(" failed: ");
        m.append(e.status() < 0 ? "no reply" : "HTTP " + e.status());
        if (e.error() != null) {
            m.append(", error=").append(e.error());
        }
        if (e.aadstsCode() != null) {
            m.append(", ").append(e.aadstsCode());
        }
        m.append(" (client-request-id=").append(e.clientRequestId()).append(", x-ms-request-id=")
                .append(e.serverRequestId() != null ? e.serverRequestId() : "none").append(")");
        if (e.getMessage() != null) {
            m.append(": ").append(e.getMessage());
        }
        if ("invalid_client".equals(e.error())) {
            m.append(". The certificate was re-issued once and the request retried; check the identity's permissions.");
        } else if (e.status() < 0) {
            m.append(". Check network access to the token endpoint and that its CA is trusted.");
        }
        return m.toString();
    }
}
