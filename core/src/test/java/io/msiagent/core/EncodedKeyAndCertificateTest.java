package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.TestCredentials;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateFactorySpi;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1UTCTime;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The check that lets a store serve a credential without the JCA must accept what issuance and the
 * store produce, and refer everything else to the JDK's decoders: it may be stricter than they are,
 * and more lenient only where the store's thumbprint comparison makes up for it.
 */
class EncodedKeyAndCertificateTest {
    static TestCredentials ca;
    static MtlsCredential credential;
    static byte[] pkcs8;
    static byte[] leaf;

    @BeforeAll
    static void credentials() throws Exception {
        ca = TestCredentials.newCa();
        credential = ca.credential(ManagedIdentityId.systemAssigned());
        pkcs8 = credential.privateKey().getEncoded();
        leaf = credential.certificate().getEncoded();
    }

    @Test
    void acceptsWhatIssuanceProducesAndDecodesItAtFirstUse() throws Exception {
        EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(pkcs8, leaf).orElseThrow();
        assertEquals(jdkThumbprint(leaf), e.x5tS256());
        assertEquals(credential.notBefore(), e.notBefore());
        assertEquals(credential.notAfter(), e.notAfter());
        assertFalse(e.decoded(), "nothing is decoded before the first use");
        assertEquals(List.of(credential.certificate()), e.chain());
        assertArrayEquals(pkcs8, e.privateKey().getEncoded());
        assertTrue(e.decoded());
        assertTrue(KeyMatch.matches(e.chain().get(0).getPublicKey(), e.privateKey()));
    }

    /** UTCTime up to 2049 (two-digit years from 50 are 19xx), GeneralizedTime from 2050, as RFC 5280 requires. */
    @Test
    void readsBothTimeFormsOfRfc5280AsTheJdkDoes() throws Exception {
        for (Time[] validity : new Time[][] {
            {new Time(new ASN1UTCTime("991231235959Z")), new Time(new ASN1GeneralizedTime("20500101000000Z"))},
            {new Time(new ASN1UTCTime("490228120000Z")), new Time(new ASN1UTCTime("500101000001Z"))},
            {new Time(new ASN1GeneralizedTime("20240229235900Z")), new Time(new ASN1GeneralizedTime("99991231235959Z"))}}) {
            KeyPair keys = TestCredentials.rsa2048();
            byte[] cert = certificate(keys, validity[0], validity[1]);
            X509Certificate jdk = jdkCertificate(cert);
            EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(keys.getPrivate().getEncoded(), cert).orElseThrow();
            assertEquals(jdk.getNotBefore().toInstant(), e.notBefore(), validity[0].toString());
            assertEquals(jdk.getNotAfter().toInstant(), e.notAfter(), validity[1].toString());
        }
    }

    /** Each of these the JDK may accept or refuse; the check leaves it to the JDK. */
    @Test
    void refersAnythingElseToTheJdk() throws Exception {
        KeyPair other = TestCredentials.rsa2048();
        KeyPairGenerator ecGenerator = KeyPairGenerator.getInstance("EC");
        ecGenerator.initialize(256);
        KeyPair ec = ecGenerator.generateKeyPair();
        byte[] ecCert = ca.issue(ec.getPublic(), Instant.now(), Instant.now().plusSeconds(3600)).getEncoded();
        KeyPair keys = TestCredentials.rsa2048();
        byte[] fractionalTime = certificate(keys, new Time(new ASN1GeneralizedTime("20240101000000.5Z")),
                new Time(new ASN1GeneralizedTime("20500101000000Z")));
        jdkCertificate(fractionalTime); // the JDK reads it: the store must then take the JDK's path
        assertEmpty(other.getPrivate().getEncoded(), leaf); // another key's certificate
        assertEmpty(ec.getPrivate().getEncoded(), ecCert);
        assertEmpty(keys.getPrivate().getEncoded(), fractionalTime);
        assertEmpty(pkcs8, append(leaf, 0));
        assertEmpty(append(pkcs8, 0), leaf);
        assertEmpty(pkcs8, Arrays.copyOf(leaf, leaf.length - 1));
        assertEmpty(Arrays.copyOf(pkcs8, 100), leaf);
        assertEmpty(pkcs8, new byte[] {0x30, 0x00});
        assertEmpty(new byte[0], new byte[0]);
        byte[] longFormLength = new byte[leaf.length + 1]; // 0x30 0x83 00 .. .. instead of 0x30 0x82 .. ..
        longFormLength[0] = 0x30;
        longFormLength[1] = (byte) 0x83;
        System.arraycopy(leaf, 2, longFormLength, 3, leaf.length - 2);
        assertEmpty(pkcs8, longFormLength);
    }

    /** The key's structure, element by element: anything but what the JDK's RSA key factory reads is left to the JDK. */
    @Test
    void readsEveryElementOfTheKey() throws Exception {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(pkcs8);
        ASN1Sequence rsa = ASN1Sequence.getInstance(info.parsePrivateKey());
        ASN1Encodable[] elements = rsa.toArray();
        AlgorithmIdentifier noParameters = new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption);
        AlgorithmIdentifier pss = new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS);
        byte[] accepted = new PrivateKeyInfo(noParameters, rsa).getEncoded("DER");
        EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(accepted, leaf).orElseThrow();
        assertTrue(KeyMatch.matches(credential.certificate().getPublicKey(), e.privateKey()), "the JDK reads a key without parameters too");
        ASN1Encodable[] extra = Arrays.copyOf(elements, elements.length + 1);
        extra[elements.length] = new ASN1Integer(1);
        ASN1Encodable[] missing = Arrays.copyOf(elements, elements.length - 1);
        ASN1Encodable[] version1 = elements.clone();
        version1[0] = new ASN1Integer(1);
        ASN1Encodable[] zeroCoefficient = elements.clone();
        zeroCoefficient[8] = new ASN1Integer(0);
        for (byte[] key : new byte[][] {
            new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), new DERSequence(extra)).getEncoded("DER"),
            new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), new DERSequence(missing)).getEncoded("DER"),
            new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), new DERSequence(version1)).getEncoded("DER"),
            new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), new DERSequence(zeroCoefficient)).getEncoded("DER"),
            new PrivateKeyInfo(pss, rsa).getEncoded("DER"),
            new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), rsa, new DERSet(new ASN1Encodable[0])).getEncoded("DER")}) {
            assertEmpty(key, leaf);
        }
    }

    /**
     * Random damage to the key or the certificate (bit flips, cut ends, inserted and dropped bytes).
     * Nothing makes the check throw. A damaged key it accepts, the JDK decodes to a key matching the
     * certificate. A damaged certificate it accepts either has another thumbprint (a store finds no
     * metadata entry for it and refuses it) or the JDK decodes it to the same validity.
     */
    @Test
    void acceptsNothingTheJdkRefusesThatTheThumbprintDoesNotCatch() throws Exception {
        Random random = new Random(20261123);
        int keysAccepted = 0;
        int certificatesAccepted = 0;
        for (int i = 0; i < 4000; i++) {
            boolean damageKey = i % 2 == 0;
            byte[] key = damageKey ? damage(pkcs8, random) : pkcs8;
            byte[] cert = damageKey ? leaf : damage(leaf, random);
            Optional<EncodedKeyAndCertificate> e = EncodedKeyAndCertificate.ifWellFormed(key, cert);
            if (e.isEmpty()) {
                continue;
            }
            assertEquals(jdkThumbprint(cert), e.get().x5tS256(), "mutation " + i);
            if (damageKey) {
                keysAccepted++;
                PrivateKey jdkKey = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(key));
                assertTrue(KeyMatch.matches(credential.certificate().getPublicKey(), jdkKey), "mutation " + i);
                assertArrayEquals(key, e.get().privateKey().getEncoded(), "mutation " + i);
                continue;
            }
            certificatesAccepted++;
            X509Certificate jdkCert;
            try {
                jdkCert = jdkCertificate(cert);
            } catch (CertificateException refusedByTheJdk) {
                // Damage inside a name or an extension, which the check does not read: a store refuses it,
                // as its thumbprint is not the one recorded at issuance (LinuxCredentialStoreTest shows it).
                continue;
            }
            assertEquals(jdkCert.getNotBefore().toInstant(), e.get().notBefore(), "mutation " + i);
            assertEquals(jdkCert.getNotAfter().toInstant(), e.get().notAfter(), "mutation " + i);
            assertTrue(KeyMatch.matches(jdkCert.getPublicKey(), credential.privateKey()), "mutation " + i);
        }
        // Flips in the private exponent, the signature or the names leave a well-formed pair: the damage reached both sides.
        assertTrue(keysAccepted > 50 && certificatesAccepted > 50, keysAccepted + " keys, " + certificatesAccepted + " certificates");
    }

    @Test
    void aCredentialBuiltFromItServesItsValuesWithoutDecodingAndKeepsThemAcrossGenerations() {
        EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(pkcs8, leaf).orElseThrow();
        MtlsCredential c = credential.toBuilder().encoded(e).build();
        assertEquals(credential.x5tS256(), c.x5tS256());
        assertEquals(credential.notAfter(), c.notAfter());
        assertEquals(credential.notBefore(), c.notBefore());
        assertEquals(CredentialState.FRESH, c.stateAt(Instant.now()));
        MtlsCredential next = c.withGeneration(7);
        assertTrue(c.supportsTls13ClientAuth());
        assertEquals(Optional.empty(), c.tlsRestriction());
        assertFalse(e.decoded(), "values, serial and TLS capability need no decoding");
        assertEquals(credential.certificate(), next.certificate());
        assertTrue(e.decoded(), "generations share one decoding");
        assertEquals(credential.privateKey(), c.privateKey());
        MtlsCredential rebuilt = c.toBuilder().chain(credential.chain()).privateKey(credential.privateKey()).build();
        assertEquals(credential.certificate(), rebuilt.certificate());
        // Replacing one half of what toBuilder() carried keeps the other.
        assertEquals(credential.privateKey(), c.toBuilder().chain(credential.chain()).build().privateKey());
        assertEquals(credential.certificate(), c.toBuilder().privateKey(credential.privateKey()).build().certificate());
    }

    /** An Error (out of memory, a provider failing to start) is no verdict on the pair: the next use decodes it. */
    @Test
    void anErrorWhileDecodingLeavesThePairToBeDecodedAtTheNextUse() throws Exception {
        EncodedKeyAndCertificate e = EncodedKeyAndCertificate.ifWellFormed(pkcs8, leaf).orElseThrow();
        Security.insertProviderAt(new FailingProvider(), 1);
        try {
            assertThrows(OutOfMemoryError.class, e::chain);
        } finally {
            Security.removeProvider(FailingProvider.NAME);
        }
        assertFalse(e.decoded());
        assertEquals(credential.certificate(), e.chain().get(0));
        assertArrayEquals(pkcs8, e.privateKey().getEncoded());
    }

    /** Its X.509 factory throws an Error. */
    public static final class FailingProvider extends Provider {
        static final String NAME = "msi-agent-test-failing";
        private static final long serialVersionUID = 1L;

        FailingProvider() {
            super(NAME, "1", "an X.509 factory that throws an Error");
            put("CertificateFactory.X.509", FailingFactory.class.getName());
        }
    }

    public static final class FailingFactory extends CertificateFactorySpi {
        @Override
        public java.security.cert.Certificate engineGenerateCertificate(java.io.InputStream in) {
            throw new OutOfMemoryError("simulated");
        }

        @Override
        public java.util.Collection<? extends java.security.cert.Certificate> engineGenerateCertificates(java.io.InputStream in) {
            throw new OutOfMemoryError("simulated");
        }

        @Override
        public java.security.cert.CRL engineGenerateCRL(java.io.InputStream in) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.Collection<? extends java.security.cert.CRL> engineGenerateCRLs(java.io.InputStream in) {
            throw new UnsupportedOperationException();
        }
    }

    private static void assertEmpty(byte[] key, byte[] certificate) {
        assertEquals(Optional.empty(), EncodedKeyAndCertificate.ifWellFormed(key, certificate));
    }

    private static byte[] damage(byte[] der, Random random) {
        byte[] d = der.clone();
        switch (random.nextInt(4)) {
            case 0 -> d[random.nextInt(d.length)] ^= (byte) (1 << random.nextInt(8));
            case 1 -> d = Arrays.copyOf(d, random.nextInt(d.length));
            case 2 -> {
                int at = random.nextInt(d.length);
                byte[] longer = new byte[d.length + 1];
                System.arraycopy(d, 0, longer, 0, at);
                longer[at] = (byte) random.nextInt(256);
                System.arraycopy(d, at, longer, at + 1, d.length - at);
                d = longer;
            }
            default -> {
                int at = random.nextInt(d.length);
                byte[] shorter = new byte[d.length - 1];
                System.arraycopy(d, 0, shorter, 0, at);
                System.arraycopy(d, at + 1, shorter, at, d.length - at - 1);
                d = shorter;
            }
        }
        return d;
    }

    private static byte[] append(byte[] b, int value) {
        byte[] longer = Arrays.copyOf(b, b.length + 1);
        longer[b.length] = (byte) value;
        return longer;
    }

    private static byte[] certificate(KeyPair keys, Time notBefore, Time notAfter) throws Exception {
        X500Name name = new X500Name("CN=" + TestCredentials.CLIENT_ID);
        return new X509v3CertificateBuilder(name, BigInteger.TEN, notBefore, notAfter, name,
                SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()))
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())).getEncoded();
    }

    private static X509Certificate jdkCertificate(byte[] der) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    private static String jdkThumbprint(byte[] der) throws Exception {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(der));
    }
}
