package io.msiagent.imds;

/**
 * An IMDS call failed. Carries what an operator needs to follow it up with Azure: the HTTP status
 * (or -1 when there was no reply), the {@code x-ms-client-request-id} we sent, the server's request
 * id if it gave one, whether the failure was retryable, and an excerpt of the body with secrets
 * removed.
 */
public class ImdsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String clientRequestId;
    private final String serverRequestId;
    private final boolean retryable;
    private final String bodyExcerpt;

    public ImdsException(String message, int status, String clientRequestId, String serverRequestId, boolean retryable,
                         String bodyExcerpt, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.clientRequestId = clientRequestId;
        this.serverRequestId = serverRequestId;
        this.retryable = retryable;
        this.bodyExcerpt = bodyExcerpt;
    }

    /** The HTTP status of the last reply, or -1 when no reply arrived (refused, reset, timeout). */
    public int status() {
        return status;
    }

    /** The {@code x-ms-client-request-id} we sent with the last attempt. */
    public String clientRequestId() {
        return clientRequestId;
    }

    /** The server's request id ({@code x-ms-request-id}) of the last reply, or null. */
    public String serverRequestId() {
        return serverRequestId;
    }

    public boolean retryable() {
        return retryable;
    }

    /** Up to a few hundred characters of the reply body, secrets removed; null when there was none. */
    public String bodyExcerpt() {
        return bodyExcerpt;
    }
}
