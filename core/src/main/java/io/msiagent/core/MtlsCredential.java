package io.msiagent.core;

import io.msiagent.core.spi.RsaPssCapability;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One credential generation: the issued certificate (and chain), its private key (a handle for
 * non-exportable keys), where and as whom to use it, and when to renew it. Immutable: rotation
 * publishes a new instance with a higher {@link #generation()}; an instance handed out never
 * changes. Stores load and save this same type; a loaded credential has generation 0 until the
 * cache publishes it.
 */
public final class MtlsCredential {
    private final ManagedIdentityId identity;
    /** Null when the chain and key come {@link #encoded} (a credential loaded from a store). */
    private final List<X509Certificate> chain;
    private final PrivateKey privateKey;
    private final EncodedKeyAndCertificate encoded;
    private final Instant notBefore;
    private final Instant notAfter;
    private final String clientId;
    private final String tenantId;
    private final String tokenEndpoint;
    private final Instant renewAt;
    private final KeyProtection keyProtection;
    private final boolean attested;
    private final long generation;
    private final String x5tS256;

    private MtlsCredential(Builder b) {
        this.identity = Objects.requireNonNull(b.identity, "identity");
        if (b.encoded != null) {
            this.encoded = b.encoded;
            this.chain = null;
            this.privateKey = null;
            this.notBefore = encoded.notBefore();
            this.notAfter = encoded.notAfter();
        } else {
            this.encoded = null;
            this.chain = List.copyOf(Objects.requireNonNull(b.chain, "chain"));
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("chain must hold at least the leaf certificate");
            }
            this.privateKey = Objects.requireNonNull(b.privateKey, "privateKey");
            this.notBefore = chain.get(0).getNotBefore().toInstant();
            this.notAfter = chain.get(0).getNotAfter().toInstant();
        }
        this.clientId = requireText(b.clientId, "clientId");
        this.tenantId = requireText(b.tenantId, "tenantId");
        this.tokenEndpoint = requireText(b.tokenEndpoint, "tokenEndpoint");
        this.renewAt = Objects.requireNonNull(b.renewAt, "renewAt");
        this.keyProtection = Objects.requireNonNull(b.keyProtection, "keyProtection");
        this.attested = b.attested;
        this.generation = b.generation;
        this.x5tS256 = b.x5tS256 != null ? b.x5tS256 : encoded != null ? encoded.x5tS256() : x5tS256(chain.get(0));
    }

    private static String requireText(String s, String name) {
        Objects.requireNonNull(s, name);
        if (s.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
        return s;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this credential's values, e.g. to publish it under a new generation. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.identity = identity;
        b.chain = chain;
        b.privateKey = privateKey;
        b.encoded = encoded;
        b.clientId = clientId;
        b.tenantId = tenantId;
        b.tokenEndpoint = tokenEndpoint;
        b.renewAt = renewAt;
        b.keyProtection = keyProtection;
        b.attested = attested;
        b.generation = generation;
        b.x5tS256 = x5tS256;
        return b;
    }

    /** The same credential under another generation number. */
    public MtlsCredential withGeneration(long newGeneration) {
        return toBuilder().generation(newGeneration).build();
    }

    /** base64url (no padding) of SHA-256 over the DER certificate: RFC 8705's {@code x5t#S256}. */
    public static String x5tS256(X509Certificate certificate) {
        try {
            return x5tS256(certificate.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("cannot hash certificate", e);
        }
    }

    /** {@link #x5tS256(X509Certificate)} of a DER certificate. */
    static String x5tS256(byte[] der) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(Sha256.digest(der));
    }

    public ManagedIdentityId identity() {
        return identity;
    }

    /**
     * The leaf certificate. A credential loaded from a store decodes its certificate and key into
     * JDK objects at the first call of this, {@link #chain()} or {@link #privateKey()}; the cache
     * that loaded it does that as soon as it has served it.
     *
     * @throws CredentialUnavailableException a stored credential the JDK cannot decode (the cache
     *     that served it re-issues in its place)
     */
    public X509Certificate certificate() {
        return chain().get(0);
    }

    /**
     * Leaf first, then any intermediates IMDS sent.
     *
     * @throws CredentialUnavailableException as {@link #certificate()}
     */
    public List<X509Certificate> chain() {
        return encoded != null ? encoded.chain() : chain;
    }

    /** @throws CredentialUnavailableException as {@link #certificate()} */
    public PrivateKey privateKey() {
        return encoded != null ? encoded.privateKey() : privateKey;
    }

    /** Decodes the certificates and key of a credential loaded from a store now, if that has not happened yet. */
    void decode() {
        if (encoded != null) {
            encoded.privateKey();
            encoded.chain();
        }
    }

    /** The canonical client id to send to the token endpoint (from issuecredential). */
    public String clientId() {
        return clientId;
    }

    public String tenantId() {
        return tenantId;
    }

    /** The full {@code .../{tenant}/oauth2/v2.0/token} URL. */
    public String tokenEndpoint() {
        return tokenEndpoint;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    /** When renewal is due: decided once per certificate (jitter included) and stored with it. */
    public Instant renewAt() {
        return renewAt;
    }

    public KeyProtection keyProtection() {
        return keyProtection;
    }

    public boolean attested() {
        return attested;
    }

    /**
     * Whether this credential can authenticate a TLS 1.3 client: false when its key declares that
     * it cannot sign RSASSA-PSS with salt = hash length ({@link RsaPssCapability}, e.g. many TPM
     * keys), since TLS 1.3 allows only PSS for an RSA client's CertificateVerify.
     */
    public boolean supportsTls13ClientAuth() {
        // A stored PKCS#8 key becomes the JDK's own RSA key, which signs PSS: no need to decode it to know.
        return encoded != null || RsaPssCapability.canSignRsaPss(privateKey());
    }

    /**
     * Why connections with this credential must use TLS 1.2 (with {@code rsa_pkcs1_*}
     * signatures), or empty when it works with any TLS version. {@link MsiCredentialCache#sslContext()}
     * applies it by itself; see {@link CredentialTlsContext} for a context of your own.
     */
    public Optional<String> tlsRestriction() {
        if (supportsTls13ClientAuth()) {
            return Optional.empty();
        }
        return Optional.of("TLS 1.2 only (no TLS 1.3 client authentication): "
                + ((RsaPssCapability) privateKey()).rsaPssLimitation());
    }

    /** Monotonically increasing per cache; 0 for a credential not yet published. */
    public long generation() {
        return generation;
    }

    public String x5tS256() {
        return x5tS256;
    }

    /**
     * Lower-case hex, no separators, whole bytes: the serial's DER content octets without a sign
     * byte, as {@code openssl x509 -serial} prints them (leading zero digits kept).
     */
    public String serialNumberHex() {
        byte[] bytes = encoded != null ? encoded.serialNumber() : certificate().getSerialNumber().toByteArray();
        int from = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
        StringBuilder hex = new StringBuilder((bytes.length - from) * 2);
        for (int i = from; i < bytes.length; i++) {
            hex.append(Character.forDigit((bytes[i] >> 4) & 0xf, 16)).append(Character.forDigit(bytes[i] & 0xf, 16));
        }
        return hex.toString();
    }

    /** FRESH before renewAt, RENEW_DUE until notAfter, EXPIRED after. */
    public CredentialState stateAt(Instant now) {
        if (!now.isBefore(notAfter())) {
            return CredentialState.EXPIRED;
        }
        return now.isBefore(renewAt) ? CredentialState.FRESH : CredentialState.RENEW_DUE;
    }

    @Override
    public String toString() {
        return "MtlsCredential[" + identity + ", generation=" + generation + ", x5t#S256=" + x5tS256 + ", notAfter="
                + notAfter() + ", renewAt=" + renewAt + ", key=" + keyProtection + (attested ? "/attested" : "") + "]";
    }

    public static final class Builder {
        private ManagedIdentityId identity;
        private List<X509Certificate> chain;
        private PrivateKey privateKey;
        private EncodedKeyAndCertificate encoded;
        /** What toBuilder() carried when chain() or privateKey() then replaced one half: the other half comes from it. */
        private EncodedKeyAndCertificate carried;
        private String clientId;
        private String tenantId;
        private String tokenEndpoint;
        private Instant renewAt;
        private KeyProtection keyProtection;
        private boolean attested;
        private long generation;
        private String x5tS256;

        private Builder() {
        }

        public Builder identity(ManagedIdentityId identity) {
            this.identity = identity;
            return this;
        }

        public Builder chain(List<X509Certificate> chain) {
            carryOver();
            this.chain = chain;
            this.x5tS256 = null;
            return this;
        }

        public Builder privateKey(PrivateKey privateKey) {
            carryOver();
            this.privateKey = privateKey;
            return this;
        }

        /**
         * The key and certificate as a store holds them, instead of {@link #chain} and {@link #privateKey}:
         * decoded into JDK objects at their first use, so that serving a stored credential needs no JCA.
         */
        public Builder encoded(EncodedKeyAndCertificate encoded) {
            this.encoded = encoded;
            this.carried = null;
            this.chain = null;
            this.privateKey = null;
            this.x5tS256 = null;
            return this;
        }

        public Builder clientId(String clientId) {
            this.clientId = clientId;
            return this;
        }

        public Builder tenantId(String tenantId) {
            this.tenantId = tenantId;
            return this;
        }

        public Builder tokenEndpoint(String tokenEndpoint) {
            this.tokenEndpoint = tokenEndpoint;
            return this;
        }

        public Builder renewAt(Instant renewAt) {
            this.renewAt = renewAt;
            return this;
        }

        public Builder keyProtection(KeyProtection keyProtection) {
            this.keyProtection = keyProtection;
            return this;
        }

        public Builder attested(boolean attested) {
            this.attested = attested;
            return this;
        }

        public Builder generation(long generation) {
            this.generation = generation;
            return this;
        }

        public MtlsCredential build() {
            if (carried != null) {
                // Decoded only now, and only the half that was not replaced.
                if (chain == null) {
                    chain = carried.chain();
                }
                if (privateKey == null) {
                    privateKey = carried.privateKey();
                }
                carried = null;
            }
            return new MtlsCredential(this);
        }

        private void carryOver() {
            if (encoded != null) {
                carried = encoded;
                encoded = null;
            }
        }
    }
}
