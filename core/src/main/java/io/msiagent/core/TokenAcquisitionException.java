package io.msiagent.core;

import io.msiagent.imds.TokenEndpointException;

/** The mTLS token endpoint refused or the TLS connection to it failed (after one re-mint and retry where that helps). */
public class TokenAcquisitionException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    private final transient TokenEndpointException tokenEndpointException;

    public TokenAcquisitionException(String resource, TokenEndpointException cause) {
        this(resource, cause, "invalid_client".equals(cause.error()));
    }

    /** {@code reissued}: whether the certificate was re-issued and the request retried before this failure. */
    TokenAcquisitionException(String resource, TokenEndpointException cause, boolean reissued) {
        super(describe(resource, cause, reissued), cause);
        this.tokenEndpointException = cause;
    }

    /** The token endpoint's answer (status, OAuth error, AADSTS code, request ids). */
    public TokenEndpointException tokenEndpointException() {
        return tokenEndpointException;
    }

    private static String describe(String resource, TokenEndpointException e, boolean reissued) {
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
        String detail = e.getMessage();
        if (detail != null) {
            m.append(": ").append(detail.endsWith(".") ? detail.substring(0, detail.length() - 1) : detail);
        }
        if (reissued) {
            m.append(". The certificate was re-issued once and the request retried; check the identity's permissions.");
        } else if ("invalid_client".equals(e.error())) {
            m.append(". The certificate was not re-issued: one was re-issued for a rejection less than five minutes ago;"
                    + " check the identity's permissions.");
        } else if (e.status() < 0 && (detail == null || !detail.contains("Check network access"))) {
            m.append(". Check network access to the token endpoint and that its CA is trusted.");
        } else {
            m.append('.');
        }
        return m.toString();
    }
}
