package io.msiagent.core;

/**
 * No usable credential could be produced and no more specific error applies (the cache was closed,
 * the caller was interrupted while waiting, an unexpected failure). The cause says what failed.
 */
public class CredentialUnavailableException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    public CredentialUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
