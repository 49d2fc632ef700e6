package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.interfaces.RSAKey;
import java.util.Optional;

/**
 * A handle to a non-exportable RSA key in CNG. The key material never enters Java: there is no
 * encoding ({@link #getEncoded()} and {@link #getFormat()} are null), and signing goes through the
 * "MsiAgentCng" provider's {@code Signature}, which calls {@code NCryptSignHash}. Implements
 * {@link RSAKey} so JSSE can size the key when it picks a signature scheme.
 */
public final class CngPrivateKey implements PrivateKey, RSAKey {
    private static final long serialVersionUID = 1L;

    private final transient WindowsCrypto crypto;
    private final transient CngKeyHandle handle;
    private final String keyName;
    private final String providerName;
    private final KeyProtection protection;
    private final boolean supportsPss;
    private final BigInteger modulus;

    CngPrivateKey(WindowsCrypto crypto, CngKeyHandle handle, String keyName, String providerName,
            KeyProtection protection, boolean supportsPss, BigInteger modulus) {
        this.crypto = crypto;
        this.handle = handle;
        this.keyName = keyName;
        this.providerName = providerName;
        this.protection = protection;
        this.supportsPss = supportsPss;
        this.modulus = modulus;
    }

    @Override
    public String getAlgorithm() {
        return "RSA";
    }

    /** Null: the key cannot be exported. */
    @Override
    public String getFormat() {
        return null;
    }

    /** Null: the key cannot be exported. */
    @Override
    public byte[] getEncoded() {
        return null;
    }

    /** From the exported public blob (which non-exportable keys allow). */
    @Override
    public BigInteger getModulus() {
        return modulus;
    }

    /** The CNG key name (its container name in {@code CRYPT_KEY_PROV_INFO}). */
    public String keyName() {
        return keyName;
    }

    /** The key storage provider that holds the key. */
    public String providerName() {
        return providerName;
    }

    public KeyProtection protection() {
        return protection;
    }

    /**
     * Whether the key signs RSASSA-PSS with salt = hash length. Many TPMs cannot; such a key cannot
     * authenticate a TLS 1.3 client (CertificateVerify must be PSS there) and must be used with
     * TLS 1.2 and {@code rsa_pkcs1_*} schemes. Our {@code RSASSA-PSS} Signature refuses such a key
     * at {@code initSign}, so JSSE skips the PSS schemes for it on its own.
     */
    public boolean supportsPss() {
        return supportsPss;
    }

    /** What a TLS stack (and {@code doctor}) must know about this key, or empty when nothing. */
    public Optional<String> tlsRestriction() {
        if (supportsPss) {
            return Optional.empty();
        }
        return Optional.of("key " + keyName + " (" + protection + ") cannot sign RSA-PSS with salt = hash length: "
                + "TLS 1.3 client authentication is impossible with it; use TLS 1.2 (rsa_pkcs1_sha256)");
    }

    WindowsCrypto crypto() {
        return crypto;
    }

    /** The native handle, for {@code NCryptSignHash} and the attestation library. */
    long handle() {
        if (handle == null) {
            throw new IllegalStateException("deserialized CNG key has no handle");
        }
        return handle.value();
    }

    CngKeyHandle keyHandle() {
        return handle;
    }

    @Override
    public String toString() {
        return "CngPrivateKey[" + keyName + ", " + protection + ", " + modulus.bitLength() + " bits"
                + (supportsPss ? "" : ", PKCS#1 only") + "]";
    }
}
