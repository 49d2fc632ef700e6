package io.msiagent.core;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What {@code status()} reports without touching the network: the state, the credential it is
 * about (null when MISSING/INVALID), where it came from ({@code memory} or the store location),
 * why (human-readable reasons), and when the next renewal attempt is planned (null if none).
 */
public record CredentialStatus(CredentialState state, MtlsCredential credential, String source, List<String> reasons,
                               Instant nextRenewalAttempt) {
    public CredentialStatus {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(source, "source");
        reasons = List.copyOf(reasons);
    }
}
