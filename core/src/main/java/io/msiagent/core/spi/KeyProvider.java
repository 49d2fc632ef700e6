package io.msiagent.core.spi;

import io.msiagent.core.KeyProtection;

/**
 * Makes key pairs. Found with {@link java.util.ServiceLoader}; core uses the strongest supported
 * provider. Core ships a software RSA-2048 provider.
 */
public interface KeyProvider {
    String name();

    boolean isSupported();

    /** The strongest protection this provider can give on this machine, without creating anything lasting. */
    KeyProtection bestAvailableProtection();

    /**
     * A fresh RSA-2048 key pair for one credential generation, with the strongest protection
     * available. Fails closed (an {@link io.msiagent.core.MsiCredentialException} naming both
     * levels) when that is weaker than {@code minimum}.
     */
    ManagedKey create(KeyProtection minimum);
}
