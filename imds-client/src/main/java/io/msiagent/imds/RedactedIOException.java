package io.msiagent.imds;

import java.io.IOException;

/**
 * Stands in for a transport failure whose text quoted a secret: OkHttp puts what the server sent
 * into some messages ("Unexpected status line: ..."), and such an exception would otherwise reach
 * an exception message, a cause chain and the retry log as it is. Classified before the swap (by
 * the original's type); keeps the original's type name and stack trace, not its causes.
 */
final class RedactedIOException extends IOException {
    private static final long serialVersionUID = 1L;

    private RedactedIOException(IOException original, String safeMessage) {
        super(original.getClass().getSimpleName() + ": " + safeMessage);
        setStackTrace(original.getStackTrace());
    }

    /** {@code e} itself when its message holds nothing to redact (or is null), else a redacted stand-in. */
    static IOException of(IOException e) {
        if (e == null || e.getMessage() == null) {
            return e;
        }
        String message = e.getMessage();
        return Redactor.redact(message).equals(message) ? e : new RedactedIOException(e, Redactor.excerpt(message));
    }
}
