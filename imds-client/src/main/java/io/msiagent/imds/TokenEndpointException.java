package io.msiagent.imds;

/**
 * The mTLS token endpoint refused or failed: carries the HTTP status (-1 without a reply), the
 * OAuth {@code error}, the first AADSTS code if any, and the request ids.
 */
public class TokenEndpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String error;
    private final String aadstsCode;
    private final String clientRequestId;
    private final String serverRequestId;

    public TokenEndpointException(String message, int status, String error, String aadstsCode, String clientRequestId,
                                  String serverRequestId, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.error = error;
        this.aadstsCode = aadstsCode;
        this.clientRequestId = clientRequestId;
        this.serverRequestId = serverRequestId;
    }

    public int status() {
        return status;
    }

    /** The OAuth {@code error} (e.g. {@code invalid_client}), or null. */
    public String error() {
        return error;
    }

    /** e.g. {@code AADSTS1000613}, or null. */
    public String aadstsCode() {
        return aadstsCode;
    }

    public String clientRequestId() {
        return clientRequestId;
    }

    public String serverRequestId() {
        return serverRequestId;
    }
}
