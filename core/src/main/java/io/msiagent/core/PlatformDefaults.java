package io.msiagent.core;

import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.KeyProvider;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * What this machine's platform modules provide, chosen the one way the cache chooses it, so that
 * {@code doctor} reports exactly what an acquisition would use.
 */
public final class PlatformDefaults {
    private PlatformDefaults() {
    }

    /**
     * The strongest supported platform key provider, else core's software provider. The software
     * provider is deliberately not registered with ServiceLoader: it is only the fallback, so that
     * on a tie a platform provider wins (on Windows without VBS or TPM, the CNG software KSP, whose
     * keys the Windows store can link to a certificate, where a JCA software key could not be
     * persisted).
     */
    public static KeyProvider keyProvider() {
        KeyProvider best = null;
        for (KeyProvider provider : ServiceLoader.load(KeyProvider.class)) {
            if (provider.isSupported()
                    && (best == null || provider.bestAvailableProtection().compareTo(best.bestAvailableProtection()) > 0)) {
                best = provider;
            }
        }
        return best != null ? best : new SoftwareKeyProvider();
    }

    /** The first supported key attestor, or empty where the platform has none (Linux). */
    public static Optional<KeyAttestor> keyAttestor() {
        for (KeyAttestor attestor : ServiceLoader.load(KeyAttestor.class)) {
            if (attestor.isSupported()) {
                return Optional.of(attestor);
            }
        }
        return Optional.empty();
    }
}
