package io.msiagent.core;

import java.time.Instant;
import java.util.Objects;

/**
 * Something happened to the cache's credential. {@code credential} is the credential now served
 * (the new one for ACQUIRED/RENEWED, the kept one for RENEWAL_FAILED, the dead one for EXPIRED);
 * {@code cause} and {@code nextAttempt} are set for RENEWAL_FAILED only.
 */
public record CredentialEvent(Type type, Instant time, MtlsCredential credential, Throwable cause, Instant nextAttempt) {
    public enum Type {
        /** The first credential of this cache was published (from the store or from IMDS). */
        ACQUIRED,
        /** A new generation replaced the previous one. */
        RENEWED,
        /** A renewal attempt failed; the previous credential stays in service. */
        RENEWAL_FAILED,
        /** The served credential reached its notAfter and was withdrawn. */
        EXPIRED
    }

    public CredentialEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(time, "time");
    }

    @Override
    public String toString() {
        return "CredentialEvent[" + type + " at " + time + (credential != null ? ", " + credential : "")
                + (cause != null ? ", cause=" + cause.getMessage() : "") + (nextAttempt != null ? ", next attempt at " + nextAttempt : "") + "]";
    }
}
