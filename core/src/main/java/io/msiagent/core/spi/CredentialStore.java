package io.msiagent.core.spi;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where credentials persist between processes: one entry per identity. Implementations are
 * thread-safe and safe across processes (atomic replace; {@link #lock} is cross-process).
 */
public interface CredentialStore {
    /** Where this identity's entry lives: a file path, or the name of the Windows store. */
    String location(ManagedIdentityId identity);

    /**
     * The stored credential, for use. It may hand the key and certificate over
     * {@linkplain MtlsCredential.Builder#encoded encoded}, checked without the JCA, for the JDK to
     * decode at first use (the cache does that right after serving it, and replaces a credential
     * the JDK refuses). A corrupt or unusable entry is quarantined (never silently
     * deleted) and reported as {@link LoadResult.Kind#ABSENT} with the reason, so the engine
     * re-acquires. An entry of a newer format (another version of msi-agent sharing the store) is
     * not corrupt and is never quarantined: a store that keeps entries side by side (Windows) passes
     * over it and saves ours beside it; one that holds a single entry (Linux) reports it as ABSENT
     * {@link LoadResult#isLeftInPlace() left in place} and refuses to save over it. Throws {@link StoreException} only for problems a re-acquisition cannot fix (foreign
     * ownership, symlinks, unreadable directory).
     */
    LoadResult load(ManagedIdentityId identity);

    /**
     * The stored credential when it can be served as it is, read without {@link #lock} and without
     * waiting for it; empty when there is none or it needs {@link #load}'s attention (anything that
     * would be quarantined, purged or left in place), which the engine then calls under the lock. A
     * peek never quarantines, and never waits for the lock (it may take it when it is free at once,
     * for a repair of its own: the Linux store writes a missing PKCS#12 file so); it repairs and
     * reports what a load repairs at once (a file's mode), and throws what {@link #load} throws for problems a
     * re-acquisition cannot fix. A store that wraps another must forward it. The
     * engine serves a peeked credential without taking the lock, so a start does not wait behind
     * another process's renewal for a credential already on disk. Default: always empty, i.e. the
     * engine takes the lock before it reads.
     */
    default Optional<MtlsCredential> peek(ManagedIdentityId identity) {
        return Optional.empty();
    }

    /**
     * The classes a first {@link #peek} or {@link #load} loads, by name, in the order it loads them
     * (the store's own and the JDK's it uses). As the first cache of a JVM is built, the cache loads
     * them on a spare thread while the caller's thread goes on building: class loading, not the
     * read, is most of a cold read's time in a fresh JVM. Classes of the JDK are loaded only; others
     * are also initialised, so list only classes whose initialisation has no effect beyond the
     * class itself. A name that does not resolve (another JDK's internals) is skipped. A store that
     * wraps another forwards it. Default: none.
     */
    default List<String> warmUpClasses() {
        return List.of();
    }

    /**
     * The same entry, for inspection ({@code status}, {@code doctor}): never writes, never
     * quarantines; the key and certificate are decoded by the JDK, whose verdict it reports; a
     * corrupt entry is {@link LoadResult.Kind#INVALID} with the reason (marked left in place when it
     * is a newer format's).
     */
    LoadResult inspect(ManagedIdentityId identity);

    /**
     * Atomically replaces the identity's entry: a reader of the entry sees the old one or the new
     * one, never a mix. Refuses (with a {@link StoreException}) to replace an entry it left in place.
     * On failure a {@link StoreException} says why and what is on disk: normally the previous entry;
     * where the store keeps extra copies (a PKCS#12 file) or the failure came after the entry was
     * replaced, the message says so.
     */
    void save(MtlsCredential credential);

    /** Removes the identity's entry (and its quarantined files); returns what was removed. */
    List<String> delete(ManagedIdentityId identity);

    /**
     * The cross-process lock around "re-read the store, then issue". Waits at most
     * {@code maxWait}; a lock held by a dead process never blocks. Throws {@link StoreException}
     * when the wait runs out.
     */
    StoreLock lock(ManagedIdentityId identity, Duration maxWait);
}
