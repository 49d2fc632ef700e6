package io.msiagent.core;

/**
 * The root of msi-agent's typed errors. Every message says what failed and what to do about it;
 * none ever contains a private key, an attestation token or an access token.
 */
public class MsiCredentialException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MsiCredentialException(String message) {
        super(message);
    }

    public MsiCredentialException(String message, Throwable cause) {
        super(message, cause);
    }
}
