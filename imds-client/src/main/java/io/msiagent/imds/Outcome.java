package io.msiagent.imds;

import java.io.IOException;

/**
 * How a retried call ended: the last reply or transport failure (exactly one is set), how many
 * attempts were made, and why the loop stopped.
 */
record Outcome(Ending ending, Reply reply, IOException failure, int attempts, RetryPolicy.Kind lastKind) {
    enum Ending {
        /** HTTP 200. */
        SUCCESS,
        /** The last failure is not one that is retried (400, connection refused, TLS handshake ...). */
        NOT_RETRYABLE,
        /** Retryable failures used up the retry budget. */
        RETRIES_EXHAUSTED,
        /** The next attempt or back-off would have passed the call deadline. */
        DEADLINE,
        /** The calling thread was interrupted; its interrupt flag is set again. */
        INTERRUPTED
    }

    /** Whether trying the whole call again later could help. */
    boolean retryable() {
        return lastKind != RetryPolicy.Kind.PERMANENT && ending != Ending.INTERRUPTED;
    }

    int status() {
        return reply == null ? -1 : reply.status();
    }

    String serverRequestId() {
        return reply == null ? null : reply.serverRequestId();
    }

    /** "HTTP 503" or "no reply (SocketTimeoutException: timeout)", for messages and logs. */
    String describe() {
        return describe(reply, failure);
    }

    static String describe(Reply reply, IOException failure) {
        if (reply != null) {
            return "HTTP " + reply.status();
        }
        if (failure instanceof RedactedIOException) {
            return "no reply (" + failure.getMessage() + ")";
        }
        return "no reply (" + failure.getClass().getSimpleName()
                + (failure.getMessage() == null ? "" : ": " + failure.getMessage()) + ")";
    }
}
