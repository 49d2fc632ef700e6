package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import java.security.interfaces.RSAPublicKey;

/** Opening, probing and deleting named CNG keys: the steps key creation and the store share. */
final class CngKeys {
    /** A fixed 32-byte "digest" for liveness probes; the signature is thrown away. */
    private static final byte[] PROBE_DIGEST = new byte[32];

    private CngKeys() {
    }

    /** The key's public half, from {@code RSAPUBLICBLOB}. */
    static RSAPublicKey publicKey(WindowsCrypto crypto, long key) {
        return RsaPublicBlob.parse(crypto.exportRsaPublicBlob(key));
    }

    /** True when the key has the {@code Virtual Iso} property set (a KeyGuard key). */
    static boolean isVirtualIsolated(WindowsCrypto crypto, long key) {
        try {
            return WinApi.readDword(crypto.getProperty(key, WinApi.NCRYPT_VIRTUAL_ISO_PROPERTY)) != 0;
        } catch (WindowsCryptoException e) {
            return false;
        }
    }

    /**
     * A sign with PKCS#1 (must work for every usable key: a per-boot KeyGuard key after a reboot
     * opens fine and fails here).
     */
    static void probePkcs1(WindowsCrypto crypto, long key) {
        crypto.signHash(key, WindowsCrypto.SignPadding.pkcs1("SHA256"), PROBE_DIGEST);
    }

    /** Whether the key signs PSS with salt = hash length (what TLS 1.3 needs). */
    static boolean probePss(WindowsCrypto crypto, long key) {
        try {
            crypto.signHash(key, WindowsCrypto.SignPadding.pss("SHA256", 32), PROBE_DIGEST);
            return true;
        } catch (WindowsCryptoException e) {
            return false;
        }
    }

    /** Opens a named key and wraps it; the caller owns the returned key's handle. */
    static CngPrivateKey open(WindowsCrypto crypto, String keyName, String providerName, KeyProtection protection,
            boolean supportsPss) {
        long provider = crypto.openProvider(providerName);
        try {
            CngKeyHandle handle = new CngKeyHandle(crypto, crypto.openKey(provider, keyName));
            try {
                RSAPublicKey pub = publicKey(crypto, handle.value());
                return new CngPrivateKey(crypto, handle, keyName, providerName, protection, supportsPss, pub.getModulus());
            } catch (RuntimeException e) {
                handle.close();
                throw e;
            }
        } finally {
            crypto.freeObject(provider);
        }
    }

    /** Deletes a named key; true when deleted, false when it was already gone. */
    static boolean delete(WindowsCrypto crypto, String keyName, String providerName) {
        long provider = crypto.openProvider(providerName);
        try {
            long key;
            try {
                key = crypto.openKey(provider, keyName);
            } catch (WindowsCryptoException e) {
                if (e.status() == WinApi.NTE_BAD_KEYSET) {
                    return false;
                }
                throw e;
            }
            new CngKeyHandle(crypto, key).deleteKey();
            return true;
        } finally {
            crypto.freeObject(provider);
        }
    }
}
