package io.msiagent.core;

/** Key attestation was attempted and failed; the request is never silently downgraded to unattested. */
public class AttestationException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    public AttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
