package io.msiagent.store.windows;

import java.util.List;
import java.util.Optional;

/**
 * The narrow boundary over the Windows calls this module uses: NCrypt (CNG keys), Crypt32
 * ({@code CurrentUser\My}) and a named mutex. Every decision (tier fallback, orphan detection,
 * purge) lives above it, so it can be replaced by an in-memory fake on Linux. Handles are opaque
 * {@code long}s (native pointers in the JNA implementation). Failures throw
 * {@link WindowsCryptoException} with the Windows status code; methods that "consume" a handle say so.
 */
public interface WindowsCrypto {

    /** How {@link #signHash} pads: PKCS#1 v1.5 or PSS, with the CNG hash id ({@code SHA256}, ...). */
    record SignPadding(Kind kind, String hashAlgorithm, int saltLength) {
        public enum Kind { PKCS1, PSS }

        public static SignPadding pkcs1(String cngHashId) {
            return new SignPadding(Kind.PKCS1, cngHashId, 0);
        }

        public static SignPadding pss(String cngHashId, int saltLength) {
            return new SignPadding(Kind.PSS, cngHashId, saltLength);
        }
    }

    /** The link from a certificate to its key ({@code CRYPT_KEY_PROV_INFO}, CNG: provider type 0). */
    record KeyLink(String keyName, String providerName) {
    }

    /** One certificate of a store: a context handle (free it) and its DER bytes. */
    record StoredCertificate(long handle, byte[] encoded) {
    }

    /** What a bounded wait on a named mutex ended with. */
    enum MutexWait { ACQUIRED, ABANDONED, TIMED_OUT }

    // ---- NCrypt -------------------------------------------------------------------------------

    /** {@code NCryptOpenStorageProvider}. */
    long openProvider(String providerName);

    /** {@code NCryptCreatePersistedKey(prov, alg, name, 0, flags)}: the key is not usable before {@link #finalizeKey}. */
    long createPersistedKey(long provider, String algorithm, String keyName, int flags);

    /** {@code NCryptSetProperty} on a provider or key handle. */
    void setProperty(long object, String property, byte[] value, int flags);

    /** {@code NCryptGetProperty}; {@code NTE_NOT_FOUND} and friends surface as exceptions. */
    byte[] getProperty(long object, String property);

    /** {@code NCryptFinalizeKey}. */
    void finalizeKey(long key);

    /** {@code NCryptOpenKey(prov, name, 0, NCRYPT_SILENT_FLAG)}; {@code NTE_BAD_KEYSET} when absent. */
    long openKey(long provider, String keyName);

    /** {@code NCryptDeleteKey}: consumes the handle on success (and only then). */
    void deleteKey(long key);

    /** {@code NCryptExportKey(key, 0, "RSAPUBLICBLOB")}: a {@code BCRYPT_RSAKEY_BLOB}. */
    byte[] exportRsaPublicBlob(long key);

    /** {@code NCryptSignHash}: signs a digest computed by the caller. */
    byte[] signHash(long key, SignPadding padding, byte[] digest);

    /** {@code NCryptFreeObject}. */
    void freeObject(long object);

    // ---- Crypt32 ------------------------------------------------------------------------------

    /** {@code CertOpenStore(CERT_STORE_PROV_SYSTEM_W, CURRENT_USER, "My")}. */
    long openCurrentUserMy();

    /** {@code CertAddEncodedCertificateToStore(..., REPLACE_EXISTING)}: the stored context (free it). */
    long addEncodedCertificate(long store, byte[] der);

    /** {@code CertSetCertificateContextProperty(CERT_KEY_PROV_INFO_PROP_ID)}. */
    void setKeyLink(long certificate, KeyLink link);

    /** {@code CertGetCertificateContextProperty(CERT_KEY_PROV_INFO_PROP_ID)}, empty when not set. */
    Optional<KeyLink> keyLink(long certificate);

    /** {@code CertSetCertificateContextProperty} with a {@code CRYPT_DATA_BLOB} (friendly name, user properties). */
    void setBlobProperty(long certificate, int propertyId, byte[] value);

    /** {@code CertGetCertificateContextProperty}, empty when not set ({@code CRYPT_E_NOT_FOUND}). */
    Optional<byte[]> blobProperty(long certificate, int propertyId);

    /** {@code CertEnumCertificatesInStore}: every certificate, each with its own (duplicated) context. */
    List<StoredCertificate> enumerate(long store);

    /** {@code CertDeleteCertificateFromStore}: always consumes the handle, like Windows does. */
    void deleteCertificate(long certificate);

    /** {@code CertFreeCertificateContext}. */
    void freeCertificate(long certificate);

    /** {@code CertControlStore(CERT_STORE_CTRL_COMMIT)}: makes deletes visible to other processes. */
    void commit(long store);

    /** {@code CertCloseStore}. */
    void closeStore(long store);

    // ---- Kernel32 -----------------------------------------------------------------------------

    /** {@code CreateMutexW(NULL, FALSE, name)}: opens or creates. */
    long createMutex(String name);

    /** {@code WaitForSingleObject}. Windows mutexes are owned by the waiting thread and recursive. */
    MutexWait waitForMutex(long mutex, long timeoutMillis);

    /** {@code ReleaseMutex}: must run on the owning thread. */
    void releaseMutex(long mutex);

    /** {@code CloseHandle}. */
    void closeHandle(long handle);
}
