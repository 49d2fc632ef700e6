package io.msiagent.core;

import io.msiagent.imds.ImdsException;
import io.msiagent.imds.ImdsV1OnlyException;

/**
 * IMDS failed to give us metadata or a certificate. The message carries the HTTP status, the
 * {@code x-ms-client-request-id} we sent and IMDS's request id, so an operator can follow it up.
 */
public class IssuanceException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    private final transient ImdsException imdsException;

    public IssuanceException(String step, ImdsException cause) {
        super(describe(step, cause), cause);
        this.imdsException = cause;
    }

    /** The failure as imds-client reported it (status, request ids, body excerpt). */
    public ImdsException imdsException() {
        return imdsException;
    }

    private static String describe(String step, ImdsException e) {
        StringBuilder m = new StringBuilder("IMDS ").append(step).append(" failed: ");
        m.append(e.status() < 0 ? "no reply" : "HTTP " + e.status());
        m.append(" (x-ms-client-request-id=").append(e.clientRequestId());
        m.append(", x-ms-request-id=").append(e.serverRequestId() != null ? e.serverRequestId() : "none").append(")");
        String detail = e.getMessage();
        if (detail != null && !detail.isBlank()) {
            m.append(": ").append(detail.strip());
        }
        String advice = advice(e);
        if (advice != null) {
            char last = m.charAt(m.length() - 1);
            m.append(last == '.' || last == '?' || last == '!' ? " " : ". ").append(advice);
        }
        return m.toString();
    }

    /** What to do next, or null where imds-client's message already says it (no reply: it names the endpoint). */
    private static String advice(ImdsException e) {
        if (e instanceof ImdsV1OnlyException) {
            return "This host offers IMDS v1 only: MSI v2 credentials are not available on it.";
        }
        if (e.status() < 0) {
            return null;
        }
        if (e.status() == 400 || e.status() == 403 || e.status() == 404) {
            return "Check that the managed identity is assigned to this VM and the selector (client/object/resource id) is right.";
        }
        return e.retryable() ? "The failure is transient; the agent retries with back-off." : "Quote the request ids to Azure support if it persists.";
    }
}
