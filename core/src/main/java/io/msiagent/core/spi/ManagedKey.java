package io.msiagent.core.spi;

import io.msiagent.core.KeyProtection;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;

/**
 * A key pair made by a {@link KeyProvider} for one credential generation. The private key may be a
 * handle whose material never leaves its provider (CNG); {@link #signatureProvider()} names the JCA
 * provider that can sign with it.
 */
public interface ManagedKey {
    PublicKey publicKey();

    PrivateKey privateKey();

    /** The protection actually obtained (not merely asked for). */
    KeyProtection protection();

    /** The JCA provider for {@code Signature.getInstance(alg, provider)}, or null for the default ones. */
    Provider signatureProvider();

    /**
     * A stable id for the key: its CNG name, or upper-case hex SHA-256 of modulus || exponent for
     * unnamed keys.
     */
    String keyId();

    /** Removes the key from its provider when it was never used (issuance failed). No-op for software keys. */
    default void discard() {
    }
}
