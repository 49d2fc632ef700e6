package io.msiagent.imds;

/**
 * A reply body that cannot be used, with a description fit for an error message (it never quotes
 * body content). Checked and package-private: each client turns it into its public exception.
 */
final class ReplyFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    ReplyFormatException(String problem) {
        super(problem);
    }

    ReplyFormatException(String problem, Throwable cause) {
        super(problem, cause);
    }
}
