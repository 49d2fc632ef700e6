package io.msiagent.store.windows;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.crypto.CryptoException;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.engines.RSABlindedEngine;
import org.bouncycastle.crypto.signers.PSSSigner;
import org.bouncycastle.crypto.util.PrivateKeyFactory;

/**
 * An in-memory model of the documented NCrypt / Crypt32 / mutex semantics (docs/WINDOWS.md), with
 * switches for the failure modes real Windows shows: VBS unavailable, provider missing, TPM keys
 * without PSS, per-boot keys dead after a reboot, dangling key links, deletes that need a commit
 * (as Wine showed), access denied, mutexes held elsewhere or abandoned. Keys are real RSA keys in
 * Java behind fake handles, so signatures are real and verifiable. Handle misuse (double free,
 * unknown handle) throws, so the tests also catch leaks and double frees.
 */
final class FakeWindowsCrypto implements WindowsCrypto {
    static final int ERROR_INVALID_HANDLE = 6;
    static final int ERROR_NOT_OWNER = 288;

    // ---- failure switches ----
    final Map<String, Integer> missingProviders = new HashMap<>();
    Integer vbsFailureAtCreate;
    Integer vbsFailureAtFinalize;
    boolean vbsFlagIgnored;
    boolean tpmWithoutPss;
    Integer exportPolicyReadsAs;
    Integer storeOpenFailure;
    Integer storeWriteFailure;
    Integer propertyWriteFailure;
    Integer propertyReadFailure;
    Integer commitFailure;

    // ---- state ----
    private final AtomicLong nextHandle = new AtomicLong(0x1000);
    private final Map<Long, Object> handles = new HashMap<>();
    private final Map<String, FakeKey> keys = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, MutexState> mutexes = new HashMap<>();
    final List<SignPadding> signCalls = new ArrayList<>();
    final List<Integer> creationFlags = new ArrayList<>();

    static final class FakeKey {
        final String name;
        final String provider;
        final int flags;
        final Map<String, byte[]> properties = new HashMap<>();
        KeyPair pair;
        boolean finalized;
        boolean deleted;
        boolean dead;

        FakeKey(String name, String provider, int flags) {
            this.name = name;
            this.provider = provider;
            this.flags = flags;
        }
    }

    static final class Entry {
        final byte[] der;
        final Map<Integer, byte[]> properties = new HashMap<>();
        KeyLink link;
        boolean deleted;

        Entry(byte[] der) {
            this.der = der;
        }
    }

    private record ProviderHandle(String name) {
    }

    private record KeyHandle(FakeKey key) {
    }

    private static final class StoreView {
        final Set<Entry> pendingDeletes = new HashSet<>();
    }

    private record CertHandle(Entry entry, StoreView view) {
    }

    private record MutexHandle(String name) {
    }

    private static final class MutexState {
        Thread owner;
        int count;
        boolean abandoned;
        boolean heldByOtherProcess;
    }

    // ---- test controls ----

    synchronized void reboot() {
        for (FakeKey k : keys.values()) {
            if ((k.flags & WinApi.NCRYPT_USE_PER_BOOT_KEY_FLAG) != 0) {
                k.dead = true;
            }
        }
    }

    synchronized void deleteKeyBehindTheBack(String name) {
        keys.values().removeIf(k -> {
            if (k.name.equals(name)) {
                k.deleted = true;
                return true;
            }
            return false;
        });
    }

    /** The container name now holds different key material (MSAL's fixed-name problem). */
    synchronized void replaceKeyMaterial(String name) {
        for (FakeKey k : keys.values()) {
            if (k.name.equals(name)) {
                k.pair = newKeyPair();
            }
        }
    }

    /** The named key loses its "Virtual Iso" property (a tampered or mislabelled entry). */
    synchronized void clearVirtualIso(String name) {
        for (FakeKey k : keys.values()) {
            if (k.name.equals(name)) {
                k.properties.remove(WinApi.NCRYPT_VIRTUAL_ISO_PROPERTY);
            }
        }
    }

    synchronized Set<String> keyNames() {
        Set<String> names = new HashSet<>();
        keys.values().forEach(k -> names.add(k.name));
        return names;
    }

    synchronized FakeKey key(String name) {
        return keys.values().stream().filter(k -> k.name.equals(name)).findFirst().orElseThrow();
    }

    /** Entries another process would see now (committed state). */
    synchronized List<Entry> committedEntries() {
        return entries.stream().filter(e -> !e.deleted).toList();
    }

    /** Adds an entry directly, as another program (MSAL.NET, a user) would. */
    synchronized Entry addForeignEntry(byte[] der, String friendlyName) {
        Entry e = new Entry(der);
        if (friendlyName != null) {
            e.properties.put(WinApi.CERT_FRIENDLY_NAME_PROP_ID,
                    (friendlyName + '\0').getBytes(java.nio.charset.StandardCharsets.UTF_16LE));
        }
        entries.add(e);
        return e;
    }

    synchronized void holdMutexInAnotherProcess(String name) {
        mutex(name).heldByOtherProcess = true;
    }

    synchronized void releaseMutexInAnotherProcess(String name) {
        mutex(name).heldByOtherProcess = false;
        notifyAll();
    }

    synchronized void abandonMutexInAnotherProcess(String name) {
        MutexState m = mutex(name);
        m.heldByOtherProcess = false;
        m.abandoned = true;
        notifyAll();
    }

    synchronized boolean mutexHeld(String name) {
        MutexState m = mutexes.get(name);
        return m != null && (m.owner != null || m.heldByOtherProcess);
    }

    /** Handles still open, by kind: "store", "cert", "provider", "key", "mutex". */
    synchronized long openHandles(String kind) {
        return handles.values().stream().filter(o -> switch (kind) {
            case "store" -> o instanceof StoreView;
            case "cert" -> o instanceof CertHandle;
            case "provider" -> o instanceof ProviderHandle;
            case "key" -> o instanceof KeyHandle;
            case "mutex" -> o instanceof MutexHandle;
            default -> throw new IllegalArgumentException(kind);
        }).count();
    }

    // ---- helpers ----

    private MutexState mutex(String name) {
        return mutexes.computeIfAbsent(name, n -> new MutexState());
    }

    private long register(Object o) {
        long h = nextHandle.getAndIncrement();
        handles.put(h, o);
        return h;
    }

    private <T> T handle(long h, Class<T> type, String op) {
        Object o = handles.get(h);
        if (!type.isInstance(o)) {
            throw new WindowsCryptoException(op + " (bad handle)", ERROR_INVALID_HANDLE);
        }
        return type.cast(o);
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String keyId(String provider, String name) {
        return provider + "/" + name;
    }

    // ---- NCrypt ----

    @Override
    public synchronized long openProvider(String providerName) {
        Integer failure = missingProviders.get(providerName);
        if (failure != null) {
            throw new WindowsCryptoException("NCryptOpenStorageProvider(" + providerName + ")", failure);
        }
        return register(new ProviderHandle(providerName));
    }

    @Override
    public synchronized long createPersistedKey(long provider, String algorithm, String keyName, int flags) {
        ProviderHandle p = handle(provider, ProviderHandle.class, "NCryptCreatePersistedKey");
        creationFlags.add(flags);
        if (!"RSA".equals(algorithm)) {
            throw new WindowsCryptoException("NCryptCreatePersistedKey", WinApi.NTE_NOT_SUPPORTED);
        }
        if ((flags & WinApi.NCRYPT_USE_VIRTUAL_ISOLATION_FLAG) != 0 && vbsFailureAtCreate != null) {
            throw new WindowsCryptoException("NCryptCreatePersistedKey", vbsFailureAtCreate);
        }
        if (keys.containsKey(keyId(p.name, keyName))) {
            throw new WindowsCryptoException("NCryptCreatePersistedKey", WinApi.NTE_EXISTS);
        }
        return register(new KeyHandle(new FakeKey(keyName, p.name, flags)));
    }

    @Override
    public synchronized void setProperty(long object, String property, byte[] value, int flags) {
        FakeKey k = handle(object, KeyHandle.class, "NCryptSetProperty").key;
        if (k.finalized && !property.equals(WinApi.NCRYPT_KEY_USAGE_PROPERTY)) {
            throw new WindowsCryptoException("NCryptSetProperty(" + property + ")", WinApi.NTE_BAD_KEY_STATE);
        }
        k.properties.put(property, value.clone());
    }

    @Override
    public synchronized byte[] getProperty(long object, String property) {
        FakeKey k = handle(object, KeyHandle.class, "NCryptGetProperty").key;
        if (property.equals(WinApi.NCRYPT_EXPORT_POLICY_PROPERTY) && exportPolicyReadsAs != null) {
            return WinApi.dword(exportPolicyReadsAs);
        }
        byte[] v = k.properties.get(property);
        if (v == null) {
            throw new WindowsCryptoException("NCryptGetProperty(" + property + ")", WinApi.NTE_NOT_FOUND);
        }
        return v.clone();
    }

    @Override
    public synchronized void finalizeKey(long key) {
        FakeKey k = handle(key, KeyHandle.class, "NCryptFinalizeKey").key;
        boolean vbs = (k.flags & WinApi.NCRYPT_USE_VIRTUAL_ISOLATION_FLAG) != 0;
        if (vbs && vbsFailureAtFinalize != null) {
            throw new WindowsCryptoException("NCryptFinalizeKey", vbsFailureAtFinalize);
        }
        if (WinApi.readDword(k.properties.getOrDefault(WinApi.NCRYPT_LENGTH_PROPERTY, WinApi.dword(2048))) != 2048) {
            throw new WindowsCryptoException("NCryptFinalizeKey", WinApi.NTE_INVALID_PARAMETER);
        }
        k.pair = newKeyPair();
        k.finalized = true;
        if (vbs && !vbsFlagIgnored) {
            k.properties.put(WinApi.NCRYPT_VIRTUAL_ISO_PROPERTY, WinApi.dword(1));
        }
        keys.put(keyId(k.provider, k.name), k);
    }

    @Override
    public synchronized long openKey(long provider, String keyName) {
        ProviderHandle p = handle(provider, ProviderHandle.class, "NCryptOpenKey");
        FakeKey k = keys.get(keyId(p.name, keyName));
        if (k == null) {
            throw new WindowsCryptoException("NCryptOpenKey(" + keyName + ")", WinApi.NTE_BAD_KEYSET);
        }
        return register(new KeyHandle(k));
    }

    @Override
    public synchronized void deleteKey(long key) {
        FakeKey k = handle(key, KeyHandle.class, "NCryptDeleteKey").key;
        if (keys.remove(keyId(k.provider, k.name)) == null) {
            throw new WindowsCryptoException("NCryptDeleteKey", WinApi.NTE_BAD_KEYSET);
        }
        k.deleted = true;
        handles.remove(key);
    }

    private FakeKey usableKey(long key, String op) {
        FakeKey k = handle(key, KeyHandle.class, op).key;
        if (!k.finalized) {
            throw new WindowsCryptoException(op, WinApi.NTE_BAD_KEY_STATE);
        }
        if (k.deleted) {
            throw new WindowsCryptoException(op, WinApi.NTE_BAD_KEYSET);
        }
        return k;
    }

    @Override
    public synchronized byte[] exportRsaPublicBlob(long key) {
        return RsaPublicBlob.encode((RSAPublicKey) usableKey(key, "NCryptExportKey").pair.getPublic());
    }

    @Override
    public synchronized byte[] signHash(long key, SignPadding padding, byte[] digest) {
        FakeKey k = usableKey(key, "NCryptSignHash");
        if (k.dead) {
            throw new WindowsCryptoException("NCryptSignHash", WinApi.NTE_BAD_KEY_STATE);
        }
        Digest d = switch (padding.hashAlgorithm()) {
            case "SHA256" -> new SHA256Digest();
            case "SHA384" -> new SHA384Digest();
            case "SHA512" -> new SHA512Digest();
            default -> throw new WindowsCryptoException("NCryptSignHash", WinApi.NTE_NOT_SUPPORTED);
        };
        if (digest.length != d.getDigestSize()) {
            throw new WindowsCryptoException("NCryptSignHash", WinApi.NTE_INVALID_PARAMETER);
        }
        try {
            if (padding.kind() == SignPadding.Kind.PSS) {
                if (tpmWithoutPss && k.provider.equals(WinApi.MS_PLATFORM_CRYPTO_PROVIDER)) {
                    throw new WindowsCryptoException("NCryptSignHash", WinApi.NTE_NOT_SUPPORTED);
                }
                Digest mgf = switch (padding.hashAlgorithm()) {
                    case "SHA256" -> new SHA256Digest();
                    case "SHA384" -> new SHA384Digest();
                    default -> new SHA512Digest();
                };
                PSSSigner signer = PSSSigner.createRawSigner(new RSABlindedEngine(), d, mgf, padding.saltLength(),
                        PSSSigner.TRAILER_IMPLICIT);
                signer.init(true, PrivateKeyFactory.createKey(k.pair.getPrivate().getEncoded()));
                signer.update(digest, 0, digest.length);
                byte[] sig = signer.generateSignature();
                signCalls.add(padding);
                return sig;
            }
            Signature s = Signature.getInstance("NONEwithRSA");
            s.initSign(k.pair.getPrivate());
            s.update(digestInfo(padding.hashAlgorithm(), digest));
            byte[] sig = s.sign();
            signCalls.add(padding);
            return sig;
        } catch (GeneralSecurityException | CryptoException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
    private static byte[] digestInfo(String hash, byte[] digest) {
        byte[] prefix = switch (hash) {
            case "SHA256" -> hex("3031300d060960864801650304020105000420");
            case "SHA384" -> hex("3041300d060960864801650304020205000430");
            default -> hex("3051300d060960864801650304020305000440");
        };
        byte[] out = Arrays.copyOf(prefix, prefix.length + digest.length);
        System.arraycopy(digest, 0, out, prefix.length, digest.length);
        return out;
    }

    private static byte[] hex(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }

    @Override
    public synchronized void freeObject(long object) {
        Object o = handles.get(object);
        if (!(o instanceof KeyHandle) && !(o instanceof ProviderHandle)) {
            throw new WindowsCryptoException("NCryptFreeObject", ERROR_INVALID_HANDLE);
        }
        handles.remove(object);
    }

    // ---- Crypt32 ----

    @Override
    public synchronized long openCurrentUserMy() {
        if (storeOpenFailure != null) {
            throw new WindowsCryptoException("CertOpenStore", storeOpenFailure);
        }
        return register(new StoreView());
    }

    private List<Entry> visible(StoreView view) {
        return entries.stream().filter(e -> !e.deleted && !view.pendingDeletes.contains(e)).toList();
    }

    @Override
    public synchronized long addEncodedCertificate(long store, byte[] der) {
        StoreView view = handle(store, StoreView.class, "CertAddEncodedCertificateToStore");
        if (storeWriteFailure != null) {
            throw new WindowsCryptoException("CertAddEncodedCertificateToStore", storeWriteFailure);
        }
        for (Entry e : visible(view)) {
            if (Arrays.equals(e.der, der)) {
                e.deleted = true; // REPLACE_EXISTING: the old context goes, properties and all
            }
        }
        Entry e = new Entry(der.clone());
        entries.add(e);
        return register(new CertHandle(e, view));
    }

    private Entry writableEntry(long certificate, String op) {
        Entry e = handle(certificate, CertHandle.class, op).entry;
        if (propertyWriteFailure != null) {
            throw new WindowsCryptoException(op, propertyWriteFailure);
        }
        return e;
    }

    @Override
    public synchronized void setKeyLink(long certificate, KeyLink link) {
        writableEntry(certificate, "CertSetCertificateContextProperty(2)").link = link;
    }

    @Override
    public synchronized Optional<KeyLink> keyLink(long certificate) {
        return Optional.ofNullable(handle(certificate, CertHandle.class, "CertGetCertificateContextProperty").entry.link);
    }

    @Override
    public synchronized void setBlobProperty(long certificate, int propertyId, byte[] value) {
        writableEntry(certificate, "CertSetCertificateContextProperty(" + propertyId + ")").properties
                .put(propertyId, value.clone());
    }

    @Override
    public synchronized Optional<byte[]> blobProperty(long certificate, int propertyId) {
        if (propertyReadFailure != null) {
            throw new WindowsCryptoException("CertGetCertificateContextProperty", propertyReadFailure);
        }
        byte[] v = handle(certificate, CertHandle.class, "CertGetCertificateContextProperty").entry.properties
                .get(propertyId);
        return Optional.ofNullable(v == null ? null : v.clone());
    }

    @Override
    public synchronized List<StoredCertificate> enumerate(long store) {
        StoreView view = handle(store, StoreView.class, "CertEnumCertificatesInStore");
        List<StoredCertificate> out = new ArrayList<>();
        for (Entry e : visible(view)) {
            out.add(new StoredCertificate(register(new CertHandle(e, view)), e.der.clone()));
        }
        return out;
    }

    @Override
    public synchronized void deleteCertificate(long certificate) {
        CertHandle c = handle(certificate, CertHandle.class, "CertDeleteCertificateFromStore");
        handles.remove(certificate); // always consumed, even on failure
        if (storeWriteFailure != null) {
            throw new WindowsCryptoException("CertDeleteCertificateFromStore", storeWriteFailure);
        }
        c.view.pendingDeletes.add(c.entry);
    }

    @Override
    public synchronized void freeCertificate(long certificate) {
        handle(certificate, CertHandle.class, "CertFreeCertificateContext");
        handles.remove(certificate);
    }

    @Override
    public synchronized void commit(long store) {
        StoreView view = handle(store, StoreView.class, "CertControlStore");
        if (commitFailure != null) {
            throw new WindowsCryptoException("CertControlStore", commitFailure);
        }
        view.pendingDeletes.forEach(e -> e.deleted = true);
        view.pendingDeletes.clear();
    }

    @Override
    public synchronized void closeStore(long store) {
        handle(store, StoreView.class, "CertCloseStore");
        handles.remove(store); // uncommitted deletes are lost, as under Wine
    }

    // ---- Kernel32 ----

    @Override
    public synchronized long createMutex(String name) {
        mutex(name);
        return register(new MutexHandle(name));
    }

    @Override
    public synchronized MutexWait waitForMutex(long mutex, long timeoutMillis) {
        MutexState m = mutex(handle(mutex, MutexHandle.class, "WaitForSingleObject").name);
        Thread me = Thread.currentThread();
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            if (m.owner == me) {
                m.count++;
                return MutexWait.ACQUIRED;
            }
            if (m.owner == null && !m.heldByOtherProcess) {
                m.owner = me;
                m.count = 1;
                if (m.abandoned) {
                    m.abandoned = false;
                    return MutexWait.ABANDONED;
                }
                return MutexWait.ACQUIRED;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return MutexWait.TIMED_OUT;
            }
            try {
                wait(Math.max(1, left / 1_000_000L));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WindowsCryptoException("WaitForSingleObject", 0xFFFFFFFF);
            }
        }
    }

    @Override
    public synchronized void releaseMutex(long mutex) {
        MutexState m = mutex(handle(mutex, MutexHandle.class, "ReleaseMutex").name);
        if (m.owner != Thread.currentThread()) {
            throw new WindowsCryptoException("ReleaseMutex", ERROR_NOT_OWNER);
        }
        if (--m.count == 0) {
            m.owner = null;
            notifyAll();
        }
    }

    @Override
    public synchronized void closeHandle(long handle) {
        handle(handle, MutexHandle.class, "CloseHandle");
        handles.remove(handle);
    }
}
