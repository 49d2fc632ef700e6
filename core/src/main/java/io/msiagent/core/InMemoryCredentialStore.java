package io.msiagent.core;

import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A store that lives as long as this object: for {@code persistence(false)}, for platforms without
 * a store module, and for tests. Its lock excludes other threads of this process (there is nothing
 * to share with other processes).
 */
public final class InMemoryCredentialStore implements CredentialStore {
    private final Map<ManagedIdentityId, MtlsCredential> entries = new ConcurrentHashMap<>();
    private final Map<ManagedIdentityId, Semaphore> locks = new ConcurrentHashMap<>();

    @Override
    public String location(ManagedIdentityId identity) {
        return "memory:" + identity;
    }

    @Override
    public LoadResult load(ManagedIdentityId identity) {
        MtlsCredential c = entries.get(identity);
        return c == null ? LoadResult.absent() : LoadResult.found(c);
    }

    @Override
    public Optional<MtlsCredential> peek(ManagedIdentityId identity) {
        return Optional.ofNullable(entries.get(identity));
    }

    @Override
    public LoadResult inspect(ManagedIdentityId identity) {
        return load(identity);
    }

    @Override
    public void save(MtlsCredential credential) {
        Objects.requireNonNull(credential, "credential");
        entries.put(credential.identity(), credential);
    }

    @Override
    public List<String> delete(ManagedIdentityId identity) {
        return entries.remove(identity) != null ? List.of(location(identity)) : List.of();
    }

    @Override
    public StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
        Semaphore semaphore = locks.computeIfAbsent(identity, id -> new Semaphore(1));
        boolean acquired;
        try {
            acquired = semaphore.tryAcquire(maxWait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException(location(identity), "interrupted while waiting for the lock", e);
        }
        if (!acquired) {
            throw new StoreException(location(identity), "lock still held by another thread after " + maxWait.toMillis()
                    + " ms; another acquisition is running, retry shortly");
        }
        return new StoreLock() {
            private boolean released;

            @Override
            public synchronized void close() {
                if (!released) {
                    released = true;
                    semaphore.release();
                }
            }
        };
    }
}
