package io.msiagent.cli;

/** A command line that parses but makes no sense (two identities, an unreadable --trust-ca file): exit 64. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
