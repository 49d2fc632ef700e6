package io.msiagent.core.testing;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway CA for tests: issues client certificates for any public key with any validity
 * window, and whole {@link MtlsCredential}s with a fresh software key.
 */
public final class TestCredentials {
    public static final String TENANT_ID = "751a212b-4003-416e-b600-e1f48e40db9f";
    public static final String CLIENT_ID = "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3";

    private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime());

    private final KeyPair caKeys;
    private final X509Certificate caCertificate;

    private TestCredentials(KeyPair caKeys, X509Certificate caCertificate) {
        this.caKeys = caKeys;
        this.caCertificate = caCertificate;
    }

    /** A new CA (RSA-2048, valid from an hour ago for ten years). */
    public static TestCredentials newCa() {
        try {
            KeyPair keys = rsa2048();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=msi-agent test CA " + SERIALS.incrementAndGet());
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(3650))), name,
                    keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            return new TestCredentials(keys, sign(b, keys));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsa2048() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048, new SecureRandom());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public X509Certificate caCertificate() {
        return caCertificate;
    }

    /** A client-auth certificate for {@code subjectKey}, CN = client id, DC = tenant id. */
    public X509Certificate issue(PublicKey subjectKey, Instant notBefore, Instant notAfter) {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    new X500Name(caCertificate.getSubjectX500Principal().getName()), serial(), Date.from(notBefore),
                    Date.from(notAfter), new X500Name("DC=" + TENANT_ID + ",CN=" + CLIENT_ID), subjectKey);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            return sign(b, caKeys);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A complete software credential for {@code identity}: a fresh key, a certificate valid from
     * {@code notBefore} for {@code lifetime}, renewAt at half of it.
     */
    public MtlsCredential credential(ManagedIdentityId identity, Instant notBefore, Duration lifetime) {
        KeyPair keys = rsa2048();
        X509Certificate cert = issue(keys.getPublic(), notBefore, notBefore.plus(lifetime));
        return MtlsCredential.builder()
                .identity(identity)
                .chain(List.of(cert))
                .privateKey(keys.getPrivate())
                .clientId(CLIENT_ID)
                .tenantId(TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/" + TENANT_ID + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(lifetime.dividedBy(2)))
                .keyProtection(KeyProtection.SOFTWARE)
                .attested(false)
                .build();
    }

    /** {@link #credential} valid from a minute ago for seven days. */
    public MtlsCredential credential(ManagedIdentityId identity) {
        return credential(identity, Instant.now().minus(Duration.ofMinutes(1)), Duration.ofDays(7));
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIALS.incrementAndGet()).shiftLeft(16).add(BigInteger.valueOf(new SecureRandom().nextInt(65536)));
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer.getPrivate())));
    }
}
