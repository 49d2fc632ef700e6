package io.msiagent.core;

import io.msiagent.core.spi.KeyProvider;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.TestCredentials;
import java.security.KeyPair;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Software keys from a small pool generated once, handed out round-robin: RSA key generation costs
 * hundreds of milliseconds on a busy machine, and tests that renew hundreds of times need distinct
 * consecutive keys, not fresh ones.
 */
final class PooledKeyProvider implements KeyProvider {
    private static final KeyPair[] POOL = new KeyPair[6];
    private final AtomicInteger next = new AtomicInteger();
    private final List<ManagedKey> created = new CopyOnWriteArrayList<>();

    static {
        for (int i = 0; i < POOL.length; i++) {
            POOL[i] = TestCredentials.rsa2048();
        }
    }

    @Override
    public String name() {
        return "test-pool";
    }

    @Override
    public boolean isSupported() {
        return true;
    }

    @Override
    public KeyProtection bestAvailableProtection() {
        return KeyProtection.SOFTWARE;
    }

    /** Every key this provider handed out, in order. */
    List<ManagedKey> created() {
        return created;
    }

    @Override
    public ManagedKey create(KeyProtection minimum) {
        KeyPair keys = POOL[Math.floorMod(next.getAndIncrement(), POOL.length)];
        ManagedKey key = SoftwareKeyProvider.wrap(keys);
        created.add(key);
        return key;
    }
}
