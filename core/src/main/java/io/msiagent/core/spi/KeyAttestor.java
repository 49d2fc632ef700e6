package io.msiagent.core.spi;

import java.util.Optional;

/**
 * Key attestation (KeyGuard / Microsoft Azure Attestation). Found with
 * {@link java.util.ServiceLoader}; absent on Linux, so credentials there are unattested.
 */
public interface KeyAttestor {
    String name();

    boolean isSupported();

    /**
     * An attestation token (a JWT) for {@code key}, or empty when this key cannot be attested here
     * (and then {@link #unavailableReason()} says why). When attestation is attempted and fails it
     * throws: an attested request is never silently downgraded.
     */
    Optional<String> attest(ManagedKey key, String attestationEndpoint, String clientId);

    /** Why attestation is not available on this machine, or null when it is. */
    String unavailableReason();
}
