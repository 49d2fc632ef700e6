package io.msiagent.core.spi;

import java.security.PrivateKey;

/**
 * Implemented by a private key (handle) class whose key may be unable to sign RSASSA-PSS with
 * salt = hash length, as many TPMs cannot (they only do maximum-length salt). A key that does not
 * implement this interface is taken to sign PSS, like every software RSA key.
 *
 * <p>Why it matters: TLS 1.3 requires an {@code rsa_pss_*} CertificateVerify from an RSA client,
 * so such a key cannot authenticate over TLS 1.3 at all; over TLS 1.2 it can, with
 * {@code rsa_pkcs1_*}. Core restricts connections made with such a credential to TLS 1.2
 * ({@link io.msiagent.core.MtlsCredential#tlsRestriction()}), and the key's provider must do its
 * part: its {@code RSASSA-PSS} {@code Signature} must refuse the key in {@code initSign} (not only
 * later in {@code sign}), because that is where JSSE tries each signature scheme and skips those
 * the key cannot do (JDK-8223940). Otherwise JSSE would pick {@code rsa_pss_rsae_sha256} even in
 * TLS 1.2 and the handshake would fail.
 */
public interface RsaPssCapability {
    /** Whether the key signs RSASSA-PSS with salt = hash length (what TLS 1.3 requires). */
    boolean canSignRsaPss();

    /**
     * Why the key cannot sign RSA-PSS (e.g. which key and protection, what the device reported),
     * for logs and diagnostics; asked only when {@link #canSignRsaPss()} is false. Never secret.
     */
    String rsaPssLimitation();

    /** True unless {@code key} declares that it cannot sign RSASSA-PSS. */
    static boolean canSignRsaPss(PrivateKey key) {
        return !(key instanceof RsaPssCapability) || ((RsaPssCapability) key).canSignRsaPss();
    }
}
