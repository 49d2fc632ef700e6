package io.msiagent.cli.emulator;

/** A request the emulator refuses; the message is the reply's {@code error_description}. */
final class InvalidRequestException extends Exception {
    private final int status;
    private final String error;

    InvalidRequestException(String description) {
        this(400, "invalid_request", description);
    }

    InvalidRequestException(int status, String error, String description) {
        super(description);
        this.status = status;
        this.error = error;
    }

    int status() {
        return status;
    }

    String error() {
        return error;
    }
}
