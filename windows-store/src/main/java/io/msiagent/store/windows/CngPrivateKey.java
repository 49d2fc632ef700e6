package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.spi.RsaPssCapability;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.interfaces.RSAKey;

/**
 * A handle to a non-exportable RSA key in CNG. The key material never enters Java: there is no
 * encoding ({@link #getEncoded()} and {@link #getFormat()} are null), and signing goes through the
 * "MsiAgentCng" provider's {@code Signature}, which calls {@code NCryptSignHash}. Implements
 * {@link RSAKey} so JSSE can size the key when it picks a signature scheme, and
 * {@link RsaPssCapability} so that core keeps TLS 1.3 off for a key that cannot sign RSA-PSS.
 */
public final class CngPrivateKey implements PrivateKey, RSAKey, RsaPssCapability {
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
     * Whether the key signs RSASSA-PSS with salt = hash length (decided by a PSS probe sign when the
     * key was created, and stored with the entry). Many TPMs cannot; such a key cannot authenticate
     * a TLS 1.3 client (CertificateVerify must be PSS there), so core's TLS context offers only
     * TLS 1.2 with it ({@code MtlsCredential.tlsRestriction()}). Our {@code RSASSA-PSS} Signature
     * refuses such a key at {@code initSign}, so JSSE then picks {@code rsa_pkcs1_*} on its own.
     */
    @Override
    public boolean canSignRsaPss() {
        return supportsPss;
    }

    /** Which key, and why (null when the key does sign RSA-PSS). */
    @Override
    public String rsaPssLimitation() {
        if (supportsPss) {
            return null;
        }
        return "key " + keyName + " (" + protection + ", " + providerName + ") cannot sign RSA-PSS with salt = hash length"
                + (protection == KeyProtection.TPM ? " (a TPM that does maximum-length salt only)" : "");
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
