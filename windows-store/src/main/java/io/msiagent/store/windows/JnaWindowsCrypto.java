package io.msiagent.store.windows;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.WString;
import com.sun.jna.platform.win32.Crypt32;
import com.sun.jna.platform.win32.Kernel32;
import com.sun.jna.platform.win32.WTypes;
import com.sun.jna.platform.win32.WinCrypt;
import com.sun.jna.platform.win32.WinNT;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@link WindowsCrypto} over the real DLLs through JNA: jna-platform for what it has
 * ({@code CertOpenStore}, {@code CertEnumCertificatesInStore}, {@code CertCloseStore}, the Kernel32
 * mutex calls), hand-written {@link NCryptLibrary} and {@link Crypt32Ext} for the rest. The native
 * libraries load on the first call (class {@link Libs}), never when this class is merely loaded, so
 * nothing native is touched on Linux. The only class with JNA calls (besides the attestation binding).
 */
final class JnaWindowsCrypto implements WindowsCrypto {
    private static final int ENCODING = WinApi.X509_ASN_ENCODING | WinApi.PKCS_7_ASN_ENCODING;

    private static final class Libs {
        static final NCryptLibrary NCRYPT = Native.load("ncrypt", NCryptLibrary.class);
        static final Crypt32Ext CRYPT32_EXT = Native.load("crypt32", Crypt32Ext.class);
    }

    private static final class Shared {
        static final JnaWindowsCrypto INSTANCE = new JnaWindowsCrypto();
    }

    private JnaWindowsCrypto() {
    }

    static WindowsCrypto shared() {
        return Shared.INSTANCE;
    }

    private static Pointer p(long handle) {
        return handle == 0 ? null : new Pointer(handle);
    }

    private static long h(Pointer p) {
        return Pointer.nativeValue(p);
    }

    private static void check(int status, String operation) {
        if (status != 0) {
            throw new WindowsCryptoException(operation, status);
        }
    }

    private static WindowsCryptoException lastError(String operation) {
        return new WindowsCryptoException(operation, Native.getLastError());
    }

    // ---- NCrypt -------------------------------------------------------------------------------

    @Override
    public long openProvider(String providerName) {
        PointerByReference ref = new PointerByReference();
        check(Libs.NCRYPT.NCryptOpenStorageProvider(ref, new WString(providerName), 0),
                "NCryptOpenStorageProvider(" + providerName + ")");
        return h(ref.getValue());
    }

    @Override
    public long createPersistedKey(long provider, String algorithm, String keyName, int flags) {
        PointerByReference ref = new PointerByReference();
        check(Libs.NCRYPT.NCryptCreatePersistedKey(p(provider), ref, new WString(algorithm), new WString(keyName), 0,
                flags), "NCryptCreatePersistedKey(" + keyName + ")");
        return h(ref.getValue());
    }

    @Override
    public void setProperty(long object, String property, byte[] value, int flags) {
        check(Libs.NCRYPT.NCryptSetProperty(p(object), new WString(property), value, value.length, flags),
                "NCryptSetProperty(" + property + ")");
    }

    @Override
    public byte[] getProperty(long object, String property) {
        WString name = new WString(property);
        IntByReference cb = new IntByReference();
        check(Libs.NCRYPT.NCryptGetProperty(p(object), name, null, 0, cb, 0), "NCryptGetProperty(" + property + ")");
        byte[] buf = new byte[cb.getValue()];
        check(Libs.NCRYPT.NCryptGetProperty(p(object), name, buf, buf.length, cb, 0),
                "NCryptGetProperty(" + property + ")");
        return Arrays.copyOf(buf, cb.getValue());
    }

    @Override
    public void finalizeKey(long key) {
        check(Libs.NCRYPT.NCryptFinalizeKey(p(key), 0), "NCryptFinalizeKey");
    }

    @Override
    public long openKey(long provider, String keyName) {
        PointerByReference ref = new PointerByReference();
        check(Libs.NCRYPT.NCryptOpenKey(p(provider), ref, new WString(keyName), 0, WinApi.NCRYPT_SILENT_FLAG),
                "NCryptOpenKey(" + keyName + ")");
        return h(ref.getValue());
    }

    @Override
    public void deleteKey(long key) {
        check(Libs.NCRYPT.NCryptDeleteKey(p(key), 0), "NCryptDeleteKey");
    }

    @Override
    public byte[] exportRsaPublicBlob(long key) {
        WString type = new WString(WinApi.BCRYPT_RSAPUBLIC_BLOB);
        IntByReference cb = new IntByReference();
        check(Libs.NCRYPT.NCryptExportKey(p(key), null, type, null, null, 0, cb, 0), "NCryptExportKey(RSAPUBLICBLOB)");
        byte[] buf = new byte[cb.getValue()];
        check(Libs.NCRYPT.NCryptExportKey(p(key), null, type, null, buf, buf.length, cb, 0),
                "NCryptExportKey(RSAPUBLICBLOB)");
        return Arrays.copyOf(buf, cb.getValue());
    }

    @Override
    public byte[] signHash(long key, SignPadding padding, byte[] digest) {
        Structure info;
        int flags;
        if (padding.kind() == SignPadding.Kind.PSS) {
            info = new JnaStructs.BcryptPssPaddingInfo(padding.hashAlgorithm(), padding.saltLength());
            flags = WinApi.BCRYPT_PAD_PSS | WinApi.NCRYPT_SILENT_FLAG;
        } else {
            info = new JnaStructs.BcryptPkcs1PaddingInfo(padding.hashAlgorithm());
            flags = WinApi.BCRYPT_PAD_PKCS1 | WinApi.NCRYPT_SILENT_FLAG;
        }
        info.write();
        try {
            IntByReference cb = new IntByReference();
            check(Libs.NCRYPT.NCryptSignHash(p(key), info.getPointer(), digest, digest.length, null, 0, cb, flags),
                    "NCryptSignHash");
            byte[] sig = new byte[cb.getValue()];
            check(Libs.NCRYPT.NCryptSignHash(p(key), info.getPointer(), digest, digest.length, sig, sig.length, cb,
                    flags), "NCryptSignHash");
            return Arrays.copyOf(sig, cb.getValue());
        } finally {
            Reference.reachabilityFence(info);
        }
    }

    @Override
    public void freeObject(long object) {
        check(Libs.NCRYPT.NCryptFreeObject(p(object)), "NCryptFreeObject");
    }

    // ---- Crypt32 ------------------------------------------------------------------------------

    @Override
    public long openCurrentUserMy() {
        WinCrypt.HCERTSTORE store = Crypt32.INSTANCE.CertOpenStore(
                new WinCrypt.CertStoreProviderName(WinApi.CERT_STORE_PROV_SYSTEM_W), 0, null,
                WinApi.CERT_SYSTEM_STORE_CURRENT_USER, new WTypes.LPWSTR("My"));
        if (store == null) {
            throw lastError("CertOpenStore(CurrentUser\\My)");
        }
        return h(store.getPointer());
    }

    @Override
    public long addEncodedCertificate(long store, byte[] der) {
        PointerByReference ctx = new PointerByReference();
        if (!Libs.CRYPT32_EXT.CertAddEncodedCertificateToStore(p(store), ENCODING, der, der.length,
                WinApi.CERT_STORE_ADD_REPLACE_EXISTING, ctx)) {
            throw lastError("CertAddEncodedCertificateToStore");
        }
        return h(ctx.getValue());
    }

    @Override
    public void setKeyLink(long certificate, KeyLink link) {
        JnaStructs.CryptKeyProvInfo info = new JnaStructs.CryptKeyProvInfo();
        info.pwszContainerName = new WString(link.keyName());
        info.pwszProvName = new WString(link.providerName());
        info.dwProvType = 0;
        info.dwKeySpec = 0;
        info.write();
        try {
            if (!Libs.CRYPT32_EXT.CertSetCertificateContextProperty(p(certificate), WinApi.CERT_KEY_PROV_INFO_PROP_ID,
                    0, info.getPointer())) {
                throw lastError("CertSetCertificateContextProperty(KEY_PROV_INFO)");
            }
        } finally {
            Reference.reachabilityFence(info);
        }
    }

    @Override
    public Optional<KeyLink> keyLink(long certificate) {
        return property(certificate, WinApi.CERT_KEY_PROV_INFO_PROP_ID).map(mem -> {
            JnaStructs.CryptKeyProvInfo info = new JnaStructs.CryptKeyProvInfo(mem);
            return new KeyLink(String.valueOf(info.pwszContainerName), String.valueOf(info.pwszProvName));
        });
    }

    @Override
    public void setBlobProperty(long certificate, int propertyId, byte[] value) {
        Memory data = new Memory(Math.max(1, value.length));
        data.write(0, value, 0, value.length);
        JnaStructs.CryptDataBlob blob = new JnaStructs.CryptDataBlob();
        blob.cbData = value.length;
        blob.pbData = data;
        blob.write();
        try {
            if (!Libs.CRYPT32_EXT.CertSetCertificateContextProperty(p(certificate), propertyId, 0, blob.getPointer())) {
                throw lastError("CertSetCertificateContextProperty(" + propertyId + ")");
            }
        } finally {
            Reference.reachabilityFence(blob);
            Reference.reachabilityFence(data);
        }
    }

    @Override
    public Optional<byte[]> blobProperty(long certificate, int propertyId) {
        IntByReference cb = new IntByReference();
        return property(certificate, propertyId, cb).map(mem -> mem.getByteArray(0, cb.getValue()));
    }

    private Optional<Memory> property(long certificate, int propertyId) {
        return property(certificate, propertyId, new IntByReference());
    }

    private Optional<Memory> property(long certificate, int propertyId, IntByReference cb) {
        String op = "CertGetCertificateContextProperty(" + propertyId + ")";
        if (!Libs.CRYPT32_EXT.CertGetCertificateContextProperty(p(certificate), propertyId, null, cb)) {
            int err = Native.getLastError();
            if (err == WinApi.CRYPT_E_NOT_FOUND) {
                return Optional.empty();
            }
            throw new WindowsCryptoException(op, err);
        }
        Memory mem = new Memory(Math.max(1, cb.getValue()));
        if (!Libs.CRYPT32_EXT.CertGetCertificateContextProperty(p(certificate), propertyId, mem, cb)) {
            throw lastError(op);
        }
        return Optional.of(mem);
    }

    @Override
    public List<StoredCertificate> enumerate(long store) {
        WinCrypt.HCERTSTORE hStore = new WinCrypt.HCERTSTORE(p(store));
        List<StoredCertificate> out = new ArrayList<>();
        Pointer prev = null;
        try {
            while (true) {
                WinCrypt.CERT_CONTEXT.ByReference ctx = Crypt32.INSTANCE.CertEnumCertificatesInStore(hStore, prev);
                if (ctx == null) {
                    prev = null; // the enumeration freed the last context itself
                    return out;
                }
                prev = ctx.getPointer();
                int len = prev.getInt(JnaStructs.CERT_CONTEXT_CB_CERT_ENCODED);
                byte[] der = prev.getPointer(JnaStructs.CERT_CONTEXT_PB_CERT_ENCODED).getByteArray(0, len);
                out.add(new StoredCertificate(h(Libs.CRYPT32_EXT.CertDuplicateCertificateContext(prev)), der));
            }
        } catch (RuntimeException e) {
            if (prev != null) {
                Libs.CRYPT32_EXT.CertFreeCertificateContext(prev);
            }
            out.forEach(c -> freeCertificate(c.handle()));
            throw e;
        }
    }

    @Override
    public void deleteCertificate(long certificate) {
        if (!Libs.CRYPT32_EXT.CertDeleteCertificateFromStore(p(certificate))) {
            throw lastError("CertDeleteCertificateFromStore");
        }
    }

    @Override
    public void freeCertificate(long certificate) {
        Libs.CRYPT32_EXT.CertFreeCertificateContext(p(certificate));
    }

    @Override
    public void commit(long store) {
        if (!Libs.CRYPT32_EXT.CertControlStore(p(store), 0, WinApi.CERT_STORE_CTRL_COMMIT, null)) {
            throw lastError("CertControlStore(COMMIT)");
        }
    }

    @Override
    public void closeStore(long store) {
        Crypt32.INSTANCE.CertCloseStore(new WinCrypt.HCERTSTORE(p(store)), 0);
    }

    // ---- Kernel32 -----------------------------------------------------------------------------

    @Override
    public long createMutex(String name) {
        WinNT.HANDLE handle = Kernel32.INSTANCE.CreateMutex(null, false, name);
        if (handle == null) {
            throw lastError("CreateMutex(" + name + ")");
        }
        return h(handle.getPointer());
    }

    @Override
    public MutexWait waitForMutex(long mutex, long timeoutMillis) {
        int r = Kernel32.INSTANCE.WaitForSingleObject(new WinNT.HANDLE(p(mutex)),
                (int) Math.min(Integer.MAX_VALUE - 1L, timeoutMillis));
        switch (r) {
            case WinApi.WAIT_OBJECT_0:
                return MutexWait.ACQUIRED;
            case WinApi.WAIT_ABANDONED:
                return MutexWait.ABANDONED;
            case WinApi.WAIT_TIMEOUT:
                return MutexWait.TIMED_OUT;
            default:
                throw lastError("WaitForSingleObject");
        }
    }

    @Override
    public void releaseMutex(long mutex) {
        if (!Kernel32.INSTANCE.ReleaseMutex(new WinNT.HANDLE(p(mutex)))) {
            throw lastError("ReleaseMutex");
        }
    }

    @Override
    public void closeHandle(long handle) {
        Kernel32.INSTANCE.CloseHandle(new WinNT.HANDLE(p(handle)));
    }
}
