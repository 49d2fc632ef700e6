package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credentials in {@code CurrentUser\My}: the issued certificate, linked to its CNG key through
 * {@code CERT_KEY_PROV_INFO_PROP_ID} (provider type 0 = CNG), tagged with a friendly name
 * ({@link EntryTag}) so only our own entries are ever read or removed, with the rest of the
 * credential in a user-defined property ({@link EntryMetadata}).
 *
 * <p>Lookup: our entries for the identity, newest {@code notAfter} first; the first whose key
 * opens, matches the certificate's modulus, is still VBS-isolated when it claims KeyGuard, and
 * still signs (a per-boot KeyGuard key is dead after a reboot) wins. Entries that fail one of
 * those checks, and expired entries older than the winner, are stale: they and their keys are
 * removed under the cross-process lock and the removal committed ({@code CERT_STORE_CTRL_COMMIT})
 * so other processes see it. Windows has no quarantine directory: a stale entry cannot be repaired
 * (its key is gone or wrong), so it is removed and reported in {@link LoadResult#problem()}.
 * Superseded entries that are still valid stay until they expire, so a handshake still signing with
 * the previous generation's key never loses it.
 */
public final class WindowsCertStore implements CredentialStore {
    private static final Logger LOG = LoggerFactory.getLogger(WindowsCertStore.class);
    /** How long {@link #load} waits for the lock before leaving stale entries for the next caller. */
    private static final Duration PURGE_LOCK_WAIT = Duration.ofMillis(300);
    /** How long {@link #save} and {@link #delete} wait for the lock (re-entrant for the holder). */
    private static final Duration WRITE_LOCK_WAIT = Duration.ofSeconds(30);

    private final WindowsCrypto crypto;
    private final Clock clock;

    public WindowsCertStore(WindowsCrypto crypto, Clock clock) {
        this.crypto = Objects.requireNonNull(crypto, "crypto");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public String location(ManagedIdentityId identity) {
        return WinApi.CURRENT_USER_MY + " (friendly name " + EntryTag.PREFIX + "id=" + identity + "|...)";
    }

    /** {@code Local\msi-agent-<first 32 hex of SHA-256(identity)>}. */
    static String mutexName(ManagedIdentityId identity) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(identity.toString().getBytes(StandardCharsets.UTF_8));
            return "Local\\msi-agent-" + HexFormat.of().formatHex(d).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    @Override
    public LoadResult load(ManagedIdentityId identity) {
        return withStore(identity, store -> {
            Scan scan = scan(store, identity, true);
            try {
                boolean purged = scan.stale.isEmpty() || purgeUnderLock(store, identity, scan, PURGE_LOCK_WAIT);
                if (scan.winner != null) {
                    return LoadResult.found(scan.winner.credential(identity));
                }
                return scan.problems.isEmpty() ? LoadResult.absent()
                        : LoadResult.unusable(location(identity) + (purged ? ": removed" : ": could not yet remove")
                                + " unusable entries: " + String.join("; ", scan.problems));
            } finally {
                scan.release(crypto, true);
            }
        });
    }

    @Override
    public LoadResult inspect(ManagedIdentityId identity) {
        return withStore(identity, store -> {
            Scan scan = scan(store, identity, true);
            try {
                if (scan.winner != null) {
                    return LoadResult.found(scan.winner.credential(identity));
                }
                return scan.problems.isEmpty() ? LoadResult.absent()
                        : LoadResult.invalid(location(identity) + ": " + String.join("; ", scan.problems));
            } finally {
                scan.release(crypto, true);
            }
        });
    }

    // ---- writing ------------------------------------------------------------------------------

    @Override
    public void save(MtlsCredential credential) {
        ManagedIdentityId identity = credential.identity();
        if (!(credential.privateKey() instanceof CngPrivateKey)) {
            throw new StoreException(location(identity), "the Windows store keeps only CNG keys (got "
                    + credential.privateKey().getClass().getName() + "); create keys with the windows-cng key provider");
        }
        CngPrivateKey key = (CngPrivateKey) credential.privateKey();
        if (!(credential.certificate().getPublicKey() instanceof RSAPublicKey)
                || !((RSAPublicKey) credential.certificate().getPublicKey()).getModulus().equals(key.getModulus())) {
            throw new StoreException(location(identity), "the certificate x5t#S256=" + credential.x5tS256()
                    + " is not for key " + key.keyName() + "; nothing saved");
        }
        EntryMetadata meta = new EntryMetadata(EntryMetadata.CURRENT_VERSION, identity.toString(),
                credential.clientId(), credential.tenantId(), credential.tokenEndpoint(), credential.renewAt(),
                credential.keyProtection(), credential.attested(), key.keyName(), key.providerName(),
                key.canSignRsaPss(), encodedIntermediates(credential));
        EntryTag tag = new EntryTag(identity.toString(), credential.x5tS256());
        byte[] der;
        try {
            der = credential.certificate().getEncoded();
        } catch (CertificateEncodingException e) {
            throw new StoreException(location(identity), "certificate cannot be encoded", e);
        }
        StoreLock lock = lock(identity, WRITE_LOCK_WAIT);
        try {
            withStore(identity, store -> {
                addEntry(store, identity, der, key, meta, tag);
                try {
                    Scan scan = scan(store, identity, true);
                    try {
                        scan.stale.removeIf(c -> c.tag.x5t().equals(tag.x5t()));
                        purge(store, scan);
                    } finally {
                        scan.release(crypto, false);
                    }
                } catch (RuntimeException e) {
                    LOG.warn("{}: saved x5t#S256={}, but removing older entries failed: {}", location(identity),
                            tag.x5t(), e.getMessage());
                }
                return null;
            });
        } finally {
            lock.close();
        }
        LOG.info("{}: saved credential x5t#S256={} (key {}, {})", location(identity), tag.x5t(), key.keyName(),
                key.protection());
    }

    /** Add, link, describe, then tag: readers only see complete entries because they select by the tag set last. */
    private void addEntry(long store, ManagedIdentityId identity, byte[] der, CngPrivateKey key, EntryMetadata meta,
            EntryTag tag) {
        long cert;
        try {
            cert = crypto.addEncodedCertificate(store, der);
        } catch (WindowsCryptoException e) {
            throw new StoreException(location(identity), "cannot add the certificate: " + e.getMessage(), e);
        }
        try {
            crypto.setKeyLink(cert, new WindowsCrypto.KeyLink(key.keyName(), key.providerName()));
            crypto.setBlobProperty(cert, WinApi.MSI_AGENT_METADATA_PROP_ID, meta.encode());
            crypto.setBlobProperty(cert, WinApi.CERT_FRIENDLY_NAME_PROP_ID, tag.toPropertyValue());
            crypto.commit(store);
            crypto.freeCertificate(cert);
        } catch (WindowsCryptoException e) {
            try {
                crypto.deleteCertificate(cert);
                crypto.commit(store);
            } catch (WindowsCryptoException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new StoreException(location(identity), "cannot link the certificate to key " + key.keyName()
                    + ": " + e.getMessage() + "; the previous entry is unchanged", e);
        }
    }

    @Override
    public List<String> delete(ManagedIdentityId identity) {
        StoreLock lock = lock(identity, WRITE_LOCK_WAIT);
        try {
            return withStore(identity, store -> {
                Scan scan = scan(store, identity, false);
                try {
                    List<String> removed = new ArrayList<>();
                    for (Entry e : scan.all) {
                        removed.add(e.describe());
                    }
                    scan.stale.addAll(scan.all);
                    purge(store, scan);
                    return removed;
                } finally {
                    scan.release(crypto, false);
                }
            });
        } finally {
            lock.close();
        }
    }

    @Override
    public StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
        String name = mutexName(identity);
        long mutex;
        try {
            mutex = crypto.createMutex(name);
        } catch (WindowsCryptoException e) {
            throw new StoreException(location(identity), "cannot open the lock " + name + ": " + e.getMessage(), e);
        }
        WindowsCrypto.MutexWait result;
        try {
            result = crypto.waitForMutex(mutex, Math.max(0, maxWait.toMillis()));
        } catch (WindowsCryptoException e) {
            crypto.closeHandle(mutex);
            throw new StoreException(location(identity), "cannot wait for the lock " + name + ": " + e.getMessage(), e);
        }
        if (result == WindowsCrypto.MutexWait.TIMED_OUT) {
            crypto.closeHandle(mutex);
            throw new StoreException(location(identity), "another process held the lock " + name + " for more than "
                    + maxWait.toMillis() + " ms");
        }
        if (result == WindowsCrypto.MutexWait.ABANDONED) {
            LOG.warn("{}: the previous holder of {} died holding it; lock recovered", location(identity), name);
        }
        return new MutexLock(crypto, mutex, name);
    }

    /** A held named mutex; Windows requires the release on the thread that acquired it. */
    private static final class MutexLock implements StoreLock {
        private final WindowsCrypto crypto;
        private final long mutex;
        private final String name;
        private final Thread owner = Thread.currentThread();
        private final AtomicBoolean closed = new AtomicBoolean();

        MutexLock(WindowsCrypto crypto, long mutex, String name) {
            this.crypto = crypto;
            this.mutex = mutex;
            this.name = name;
        }

        @Override
        public void close() {
            if (Thread.currentThread() != owner) {
                throw new IllegalStateException("lock " + name + " must be released by the thread that took it ("
                        + owner.getName() + ")");
            }
            if (closed.compareAndSet(false, true)) {
                try {
                    crypto.releaseMutex(mutex);
                } finally {
                    crypto.closeHandle(mutex);
                }
            }
        }
    }

    // ---- scanning and purging ------------------------------------------------------------------

    private interface StoreAction<T> {
        T run(long store);
    }

    private <T> T withStore(ManagedIdentityId identity, StoreAction<T> action) {
        long store;
        try {
            store = crypto.openCurrentUserMy();
        } catch (WindowsCryptoException e) {
            throw new StoreException(location(identity), "cannot open the certificate store: " + e.getMessage(), e);
        }
        try {
            return action.run(store);
        } catch (WindowsCryptoException e) {
            throw new StoreException(location(identity), e.getMessage(), e);
        } finally {
            crypto.closeStore(store);
        }
    }

    /** Our entries for one identity, checked (with keys opened when {@code checkKeys}) and classified. */
    private Scan scan(long store, ManagedIdentityId identity, boolean checkKeys) {
        Scan scan = new Scan();
        List<WindowsCrypto.StoredCertificate> certs = crypto.enumerate(store);
        int next = 0;
        try {
            while (next < certs.size()) {
                WindowsCrypto.StoredCertificate sc = certs.get(next++);
                Optional<EntryTag> tag;
                try {
                    tag = crypto.blobProperty(sc.handle(), WinApi.CERT_FRIENDLY_NAME_PROP_ID)
                            .flatMap(EntryTag::fromPropertyValue);
                } catch (RuntimeException e) {
                    crypto.freeCertificate(sc.handle());
                    throw e;
                }
                if (tag.isEmpty() || !tag.get().identity().equals(identity.toString())) {
                    crypto.freeCertificate(sc.handle());
                    continue;
                }
                Entry entry = new Entry(sc.handle(), tag.get());
                scan.all.add(entry);
                entry.examine(sc.encoded(), checkKeys);
                if (entry.foreignVersion) {
                    scan.all.remove(entry);
                    crypto.freeCertificate(sc.handle());
                }
            }
        } catch (RuntimeException e) {
            certs.subList(next, certs.size()).forEach(c -> crypto.freeCertificate(c.handle()));
            scan.release(crypto, false);
            throw e;
        }
        scan.all.sort(Comparator.comparing((Entry e) -> e.certificate == null ? null : e.certificate.getNotAfter(),
                Comparator.nullsLast(Comparator.reverseOrder())));
        for (Entry e : scan.all) {
            if (e.problem != null) {
                scan.stale.add(e);
                scan.problems.add(e.describe() + ": " + e.problem);
            } else if (checkKeys && scan.winner == null) {
                scan.winner = e;
            } else if (!clock.instant().isBefore(e.certificate.getNotAfter().toInstant())) {
                scan.stale.add(e);
            }
        }
        return scan;
    }

    /** True when the stale entries were removed; false when the lock was busy or Windows refused. */
    private boolean purgeUnderLock(long store, ManagedIdentityId identity, Scan scan, Duration wait) {
        StoreLock lock;
        try {
            lock = lock(identity, wait);
        } catch (StoreException e) {
            LOG.info("{}: stale entries left for the next caller: {}", location(identity), e.problem());
            return false;
        }
        try {
            purge(store, scan);
            return true;
        } catch (WindowsCryptoException e) {
            LOG.warn("{}: removing stale entries failed: {}", location(identity), e.getMessage());
            return false;
        } finally {
            lock.close();
        }
    }

    /** Deletes the stale entries and every key no remaining entry links to, then commits. */
    private void purge(long store, Scan scan) {
        if (scan.stale.isEmpty()) {
            return;
        }
        Set<String> keysInUse = new TreeSet<>();
        for (Entry e : scan.all) {
            if (!scan.stale.contains(e) && e.link != null) {
                keysInUse.add(e.link.keyName());
            }
        }
        for (Entry e : scan.stale) {
            long h = e.handle;
            e.handle = 0;
            crypto.deleteCertificate(h);
            LOG.info("removed store entry {}{}", e.describe(), e.problem == null ? " (expired)" : ": " + e.problem);
        }
        crypto.commit(store);
        for (Entry e : scan.stale) {
            if (e.key != null) {
                e.key.keyHandle().close();
                e.key = null;
            }
            if (e.link != null && e.link.keyName().startsWith(CngKeyProvider.KEY_NAME_PREFIX)
                    && keysInUse.add(e.link.keyName())) {
                try {
                    CngKeys.delete(crypto, e.link.keyName(), e.link.providerName());
                } catch (WindowsCryptoException ex) {
                    LOG.warn("could not delete CNG key {}: {}", e.link.keyName(), ex.getMessage());
                }
            }
        }
    }

    private static List<byte[]> encodedIntermediates(MtlsCredential c) {
        List<byte[]> out = new ArrayList<>();
        for (X509Certificate x : c.chain().subList(1, c.chain().size())) {
            try {
                out.add(x.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new StoreException(WinApi.CURRENT_USER_MY, "intermediate certificate cannot be encoded", e);
            }
        }
        return out;
    }

    private static final class Scan {
        final List<Entry> all = new ArrayList<>();
        final List<Entry> stale = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        Entry winner;

        /** Frees every context still held and closes key handles not handed out. */
        void release(WindowsCrypto crypto, boolean handOutWinnerKey) {
            for (Entry e : all) {
                if (e.handle != 0) {
                    crypto.freeCertificate(e.handle);
                    e.handle = 0;
                }
                if (e.key != null && !(handOutWinnerKey && e == winner)) {
                    e.key.keyHandle().close();
                }
            }
        }
    }

    /** One of our entries and what was found wrong with it (null when usable). */
    private final class Entry {
        long handle;
        final EntryTag tag;
        X509Certificate certificate;
        EntryMetadata meta;
        WindowsCrypto.KeyLink link;
        CngPrivateKey key;
        String problem;
        boolean foreignVersion;

        Entry(long handle, EntryTag tag) {
            this.handle = handle;
            this.tag = tag;
        }

        String describe() {
            return WinApi.CURRENT_USER_MY + " x5t#S256=" + tag.x5t() + (link != null ? " (key " + link.keyName() + ")" : "");
        }

        void examine(byte[] der, boolean checkKeys) {
            try {
                certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(der));
            } catch (CertificateException e) {
                problem = "certificate unreadable";
                return;
            }
            link = crypto.keyLink(handle).orElse(null);
            Optional<byte[]> rawMeta = crypto.blobProperty(handle, WinApi.MSI_AGENT_METADATA_PROP_ID);
            if (rawMeta.isEmpty()) {
                problem = "metadata property missing";
                return;
            }
            try {
                int version = EntryMetadata.versionOf(rawMeta.get());
                if (version > EntryMetadata.CURRENT_VERSION) {
                    LOG.info("{}: written by a newer msi-agent (metadata v{}); left alone", describe(), version);
                    foreignVersion = true;
                    return;
                }
                meta = EntryMetadata.decode(rawMeta.get());
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
                return;
            }
            if (!MtlsCredential.x5tS256(certificate).equals(tag.x5t()) || !meta.identity().equals(tag.identity())) {
                problem = "tag does not match the certificate";
                return;
            }
            if (link == null) {
                problem = "no key link (CERT_KEY_PROV_INFO_PROP_ID)";
                return;
            }
            if (!link.keyName().equals(meta.keyName()) || !link.providerName().equals(meta.providerName())) {
                problem = "key link " + link.keyName() + " disagrees with metadata key " + meta.keyName();
                return;
            }
            if (checkKeys) {
                examineKey();
            }
        }

        private void examineKey() {
            try {
                key = CngKeys.open(crypto, link.keyName(), link.providerName(), meta.keyProtection(), meta.supportsPss());
            } catch (WindowsCryptoException e) {
                problem = e.status() == WinApi.NTE_BAD_KEYSET ? "key " + link.keyName() + " no longer exists"
                        : "key " + link.keyName() + " cannot be opened: " + e.getMessage();
                return;
            } catch (IllegalArgumentException e) {
                problem = "key " + link.keyName() + " has an unreadable public key: " + e.getMessage();
                return;
            }
            RSAPublicKey certKey = (RSAPublicKey) certificate.getPublicKey();
            if (!certKey.getModulus().equals(key.getModulus())) {
                problem = "key " + link.keyName() + " is not the certificate's key (modulus differs)";
                return;
            }
            if (meta.keyProtection() == KeyProtection.KEYGUARD && !CngKeys.isVirtualIsolated(crypto, key.handle())) {
                problem = "key " + link.keyName() + " is recorded as KEYGUARD but is not VBS-isolated";
                return;
            }
            try {
                CngKeys.probePkcs1(crypto, key.handle());
            } catch (WindowsCryptoException e) {
                problem = "key " + link.keyName() + " no longer signs (a per-boot KeyGuard key after a reboot?): "
                        + e.getMessage();
            }
        }

        MtlsCredential credential(ManagedIdentityId identity) {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(certificate);
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                for (byte[] der : meta.intermediates()) {
                    chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
                }
            } catch (CertificateException e) {
                throw new StoreException(location(identity), "stored intermediate certificate unreadable", e);
            }
            MsiAgentCngProvider.install();
            return MtlsCredential.builder()
                    .identity(identity)
                    .chain(chain)
                    .privateKey(key)
                    .clientId(meta.clientId())
                    .tenantId(meta.tenantId())
                    .tokenEndpoint(meta.tokenEndpoint())
                    .renewAt(meta.renewAt())
                    .keyProtection(meta.keyProtection())
                    .attested(meta.attested())
                    .build();
        }
    }
}
