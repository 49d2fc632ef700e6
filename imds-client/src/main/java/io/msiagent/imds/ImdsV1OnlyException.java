package io.msiagent.imds;

/** getplatformmetadata answered 404 after its retries: this host has IMDS v1 only, no MSI v2. */
public class ImdsV1OnlyException extends ImdsException {
    private static final long serialVersionUID = 1L;

    public ImdsV1OnlyException(String message, String clientRequestId, String serverRequestId, String bodyExcerpt) {
        super(message, 404, clientRequestId, serverRequestId, false, bodyExcerpt, null);
    }
}
