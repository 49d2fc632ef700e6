package io.msiagent.imds;

/**
 * A reply arrived but cannot be used: not JSON, truncated, a field missing, empty or of the wrong
 * type, too large, a certificate that is not base64 or not DER, or a {@code Server} header that is
 * not IMDS's.
 */
public class MalformedResponseException extends ImdsException {
    private static final long serialVersionUID = 1L;

    public MalformedResponseException(String message, int status, String clientRequestId, String serverRequestId,
                                      String bodyExcerpt, Throwable cause) {
        super(message, status, clientRequestId, serverRequestId, false, bodyExcerpt, cause);
    }
}
