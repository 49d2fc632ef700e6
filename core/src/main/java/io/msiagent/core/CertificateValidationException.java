package io.msiagent.core;

/**
 * What IMDS issued failed validation (wrong key, expired, not yet valid, missing fields). Nothing
 * was stored or published; the message says exactly which check failed.
 */
public class CertificateValidationException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    public CertificateValidationException(String message) {
        super(message);
    }

    public CertificateValidationException(String message, Throwable cause) {
        super(message, cause);
    }
}
