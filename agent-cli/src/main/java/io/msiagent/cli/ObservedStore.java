package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The platform store, seen by the CLI: which certificates this process saved (so a credential the
 * cache returns is known to come from IMDS rather than the store, and the agent tells its own
 * renewals from another process'), how long the last acquisition took (from taking the lock to
 * the save), and a gate that stops new saves at shutdown and waits for one in flight.
 */
final class ObservedStore implements CredentialStore {
    private final CredentialStore delegate;
    /**
     * The last {@link #HISTORY} certificates this process saved or tried to, by x5t#S256, with why the
     * save failed (null when it did not). Bounded: the agent saves one every renewal, for months; the
     * questions asked are about the newest ones.
     */
    private final Map<String, Saved> history = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Saved> eldest) {
            return size() > HISTORY;
        }
    };
    static final int HISTORY = 32;
    private final Object gate = new Object();
    private int savesInFlight;
    private boolean closing;
    private volatile long acquisitionStartNanos;
    private volatile Duration lastAcquisition;

    ObservedStore(CredentialStore delegate) {
        this.delegate = delegate;
    }

    CredentialStore delegate() {
        return delegate;
    }

    /** Whether this process saved (issued) the certificate with this x5t#S256. */
    boolean savedHere(String x5tS256) {
        synchronized (history) {
            return history.containsKey(x5tS256);
        }
    }

    /** The credentials this process issued (each one the cache saved or tried to), oldest first. */
    List<MtlsCredential> issuedHere() {
        synchronized (history) {
            return history.values().stream().map(Saved::credential).toList();
        }
    }

    /**
     * Why the certificate with this x5t#S256, issued here, could not be saved (a full disk, another
     * version's entry), or null: the cache then serves it from memory only, and its key dies with
     * this process.
     */
    String saveFailure(String x5tS256) {
        synchronized (history) {
            Saved saved = history.get(x5tS256);
            return saved == null ? null : saved.failure();
        }
    }

    private record Saved(MtlsCredential credential, String failure) {
    }

    /** Lock to save of the last acquisition that saved, or null. */
    Duration lastAcquisitionDuration() {
        return lastAcquisition;
    }

    @Override
    public String location(ManagedIdentityId identity) {
        return delegate.location(identity);
    }

    @Override
    public Optional<MtlsCredential> peek(ManagedIdentityId identity) {
        return delegate.peek(identity);
    }

    @Override
    public List<String> warmUpClasses() {
        return delegate.warmUpClasses();
    }

    @Override
    public LoadResult load(ManagedIdentityId identity) {
        return delegate.load(identity);
    }

    @Override
    public LoadResult inspect(ManagedIdentityId identity) {
        return delegate.inspect(identity);
    }

    @Override
    public void save(MtlsCredential credential) {
        synchronized (gate) {
            if (closing) {
                throw new StoreException(delegate.location(credential.identity()), "not saved: msi-agent is shutting down"
                        + " (the previous entry stays in place)");
            }
            savesInFlight++;
        }
        record(credential, null);
        try {
            delegate.save(credential);
            lastAcquisition = Duration.ofNanos(System.nanoTime() - acquisitionStartNanos);
        } catch (StoreException e) {
            record(credential, e.getMessage());
            throw e;
        } finally {
            synchronized (gate) {
                savesInFlight--;
                gate.notifyAll();
            }
        }
    }

    private void record(MtlsCredential credential, String failure) {
        synchronized (history) {
            history.put(credential.x5tS256(), new Saved(credential, failure));
        }
    }

    @Override
    public List<String> delete(ManagedIdentityId identity) {
        return delegate.delete(identity);
    }

    @Override
    public StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
        acquisitionStartNanos = System.nanoTime();
        return delegate.lock(identity, maxWait);
    }

    /**
     * Refuses saves from now on and waits at most {@code maxWait} for one in flight to finish.
     * Returns whether none is left running.
     */
    boolean closeAndAwaitSaves(Duration maxWait) throws InterruptedException {
        long deadline = System.nanoTime() + maxWait.toNanos();
        synchronized (gate) {
            closing = true;
            while (savesInFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                gate.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }
}
