package io.msiagent.core;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A stored credential's key and certificate as encoded on disk — a PKCS#8 RSA private key and one
 * DER certificate — checked without the JCA and decoded into JDK objects at first use.
 *
 * <p>Why: the JCA's start-up (provider registration, the X.509 and RSA factories) costs a fresh JVM
 * ~30-40 ms, most of a cold start that serves a stored credential, although nothing needs the key or
 * certificate objects before the first TLS handshake.
 *
 * <p>What the check establishes instead: the key is a PKCS#8 {@code rsaEncryption} key, version 0,
 * in strict DER, with every RSA parameter present and above zero (so the JDK makes a CRT key of it)
 * and a size the JDK's RSA key factory accepts — everything that factory reads, checked; the
 * certificate has the X.509 layout in strict DER (RFC 5280 section 4.1), its validity is in the forms
 * RFC 5280 allows, and its RSA public key is the key's. What the check does not read — the contents of
 * names and extensions — is pinned by the thumbprint computed here: a store serves the pair only when
 * that thumbprint is the one it recorded beside the certificate when it was issued, i.e. when the
 * certificate is byte for byte the one that passed the JDK's decoder and our validation then. Should
 * the JDK still refuse it (a stricter JDK than the one that saved it), every use throws
 * {@link CredentialUnavailableException}, and {@link MsiCredentialCache} replaces the credential.
 *
 * <p>{@link #ifWellFormed} is empty for anything else — malformed, mismatched, or only unusual
 * (another key type, a time form other than RFC 5280's) — and the store decodes that with the JDK,
 * whose verdict stands.
 */
public final class EncodedKeyAndCertificate {
    /** 1.2.840.113549.1.1.1, the OID's content octets. */
    private static final byte[] RSA_ENCRYPTION = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    /** The JDK's RSA key factory refuses moduli outside these bounds (RSAKeyFactory). */
    private static final int MIN_MODULUS_BITS = 512;
    private static final int MAX_MODULUS_BITS = 16384;
    private static final int MAX_EXPONENT_BYTES = 8;

    private final byte[] certificate;
    private final byte[] serialNumber;
    private final String x5tS256;
    private final Instant notBefore;
    private final Instant notAfter;
    private final Object decodeLock = new Object();
    /** Guarded by decodeLock; zeroed and dropped once decoded or refused. */
    private byte[] pkcs8;
    private volatile List<X509Certificate> decodedChain;
    private volatile PrivateKey decodedKey;
    /** Why the JDK refused the pair (guarded by decodeLock): a refusal is final, and not paid for twice. */
    private Exception refusal;

    private EncodedKeyAndCertificate(byte[] pkcs8, byte[] certificate, byte[] serialNumber, String x5tS256, Instant notBefore,
            Instant notAfter) {
        this.pkcs8 = pkcs8;
        this.certificate = certificate;
        this.serialNumber = serialNumber;
        this.x5tS256 = x5tS256;
        this.notBefore = notBefore;
        this.notAfter = notAfter;
    }

    /**
     * The pair, when {@code pkcs8} and {@code certificate} have the shape described above and the
     * certificate's public key is the key's; else empty, and the caller decodes them with the JDK.
     * The arrays are copied.
     */
    public static Optional<EncodedKeyAndCertificate> ifWellFormed(byte[] pkcs8, byte[] certificate) {
        try {
            byte[][] keyModulusAndExponent = rsaPrivateKey(pkcs8);
            Instant[] validity = new Instant[2];
            byte[][] serial = new byte[1][];
            byte[][] certificateModulusAndExponent = certificate(certificate, validity, serial);
            if (certificateModulusAndExponent == null
                    || !Arrays.equals(keyModulusAndExponent[0], certificateModulusAndExponent[0])
                    || !Arrays.equals(keyModulusAndExponent[1], certificateModulusAndExponent[1])) {
                return Optional.empty();
            }
            String x5t = MtlsCredential.x5tS256(certificate);
            return Optional.of(new EncodedKeyAndCertificate(pkcs8.clone(), certificate.clone(), serial[0], x5t, validity[0], validity[1]));
        } catch (RuntimeException notInThisShape) {
            return Optional.empty();
        }
    }

    /** RFC 8705's {@code x5t#S256} of the certificate. */
    public String x5tS256() {
        return x5tS256;
    }

    /** The certificate's serial number: its DER content octets (two's complement, shortest form). */
    byte[] serialNumber() {
        return serialNumber.clone();
    }

    /** The certificate's notBefore. */
    public Instant notBefore() {
        return notBefore;
    }

    /** The certificate's notAfter. */
    public Instant notAfter() {
        return notAfter;
    }

    /** The certificate as the one element of a chain of JDK objects; decoded at the first call. */
    List<X509Certificate> chain() {
        List<X509Certificate> c = decodedChain;
        if (c == null) {
            decode();
            c = decodedChain;
        }
        return c;
    }

    /** The key as a JDK object; decoded at the first call. */
    PrivateKey privateKey() {
        PrivateKey k = decodedKey;
        if (k == null) {
            decode();
            k = decodedKey;
        }
        return k;
    }

    /** Whether the JDK objects exist yet. */
    boolean decoded() {
        return decodedKey != null;
    }

    private void decode() {
        synchronized (decodeLock) {
            if (decodedKey != null) {
                return;
            }
            if (refusal == null) {
                try {
                    X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                            .generateCertificate(new ByteArrayInputStream(certificate));
                    PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
                    decodedChain = List.of(cert);
                    decodedKey = key; // last: the readers test it
                    dropKeyBytes();
                    return;
                } catch (GeneralSecurityException | RuntimeException e) {
                    refusal = e;
                    dropKeyBytes();
                }
                // An Error (out of memory, say) leaves everything as it was: the next use tries again.
            }
            throw new CredentialUnavailableException("the stored credential x5t#S256=" + x5tS256
                    + " passed the check made at load, yet the JDK cannot decode it: " + refusal, refusal);
        }
    }

    private void dropKeyBytes() {
        Arrays.fill(pkcs8, (byte) 0);
        pkcs8 = null;
    }

    /** Checks a PKCS#8 RSA key (version 0) in place; returns its modulus and public exponent octets. */
    private static byte[][] rsaPrivateKey(byte[] pkcs8) {
        DerReader outer = new DerReader(pkcs8);
        DerReader info = outer.read(DerReader.SEQUENCE);
        outer.expectEnd();
        if (info.smallInteger() != 0) {
            throw new IllegalArgumentException("PKCS#8 version");
        }
        rsaEncryption(info.read(DerReader.SEQUENCE));
        DerReader keyOctets = info.read(DerReader.OCTET_STRING);
        info.expectEnd(); // no attributes: the JDK writes none
        DerReader key = keyOctets.read(DerReader.SEQUENCE);
        keyOctets.expectEnd();
        if (key.smallInteger() != 0) {
            throw new IllegalArgumentException("RSAPrivateKey version");
        }
        byte[] modulus = key.positiveInteger();
        byte[] exponent = key.positiveInteger();
        for (int i = 0; i < 6; i++) {
            key.skipPositiveInteger(); // d, p, q, dP, dQ, qInv: all present and above zero, or the JDK makes no CRT key
        }
        key.expectEnd();
        int bits = new BigInteger(1, modulus).bitLength();
        if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS || exponent.length > MAX_EXPONENT_BYTES) {
            throw new IllegalArgumentException("RSA key size");
        }
        return new byte[][] {modulus, exponent};
    }

    /** An AlgorithmIdentifier that must be rsaEncryption, with NULL or no parameters. */
    private static void rsaEncryption(DerReader algorithm) {
        if (!Arrays.equals(algorithm.bytes(DerReader.OID), RSA_ENCRYPTION)) {
            throw new IllegalArgumentException("not rsaEncryption");
        }
        if (algorithm.hasMore() && algorithm.bytes(DerReader.NULL).length != 0) {
            throw new IllegalArgumentException("rsaEncryption parameters");
        }
        algorithm.expectEnd();
    }

    /**
     * Walks one X.509 certificate (RFC 5280 section 4.1); stores its notBefore and notAfter in
     * {@code validity} and its serial number in {@code serial[0]}; returns its RSA modulus and exponent
     * octets, or null when its key is not rsaEncryption.
     */
    private static byte[][] certificate(byte[] der, Instant[] validity, byte[][] serial) {
        DerReader outer = new DerReader(der);
        DerReader certificate = outer.read(DerReader.SEQUENCE);
        outer.expectEnd();
        DerReader tbs = certificate.read(DerReader.SEQUENCE);
        certificate.skip(DerReader.SEQUENCE); // signatureAlgorithm
        certificate.skip(DerReader.BIT_STRING); // signatureValue
        certificate.expectEnd();
        if (tbs.peekTag() == 0xa0) {
            DerReader version = tbs.read(0xa0);
            if (version.smallInteger() > 2) {
                throw new IllegalArgumentException("X.509 version");
            }
            version.expectEnd();
        }
        serial[0] = tbs.bytes(DerReader.INTEGER);
        if (serial[0].length == 0 || (serial[0].length > 1 && (serial[0][0] == 0 && serial[0][1] >= 0 || serial[0][0] == -1 && serial[0][1] < 0))) {
            throw new IllegalArgumentException("serial number not in its shortest form");
        }
        tbs.skip(DerReader.SEQUENCE); // signature
        tbs.skip(DerReader.SEQUENCE); // issuer
        DerReader times = tbs.read(DerReader.SEQUENCE);
        validity[0] = time(times);
        validity[1] = time(times);
        times.expectEnd();
        tbs.skip(DerReader.SEQUENCE); // subject
        DerReader publicKeyInfo = tbs.read(DerReader.SEQUENCE);
        DerReader algorithm = publicKeyInfo.read(DerReader.SEQUENCE);
        byte[][] rsa = null;
        if (Arrays.equals(algorithm.bytes(DerReader.OID), RSA_ENCRYPTION)) {
            if (algorithm.hasMore() && algorithm.bytes(DerReader.NULL).length != 0) {
                throw new IllegalArgumentException("rsaEncryption parameters");
            }
            algorithm.expectEnd();
            byte[] bits = publicKeyInfo.bytes(DerReader.BIT_STRING);
            if (bits.length < 2 || bits[0] != 0) {
                throw new IllegalArgumentException("public key BIT STRING");
            }
            DerReader keyOuter = new DerReader(Arrays.copyOfRange(bits, 1, bits.length));
            DerReader key = keyOuter.read(DerReader.SEQUENCE);
            keyOuter.expectEnd();
            rsa = new byte[][] {key.positiveInteger(), key.positiveInteger()};
            key.expectEnd();
        } else {
            publicKeyInfo.skip(DerReader.BIT_STRING);
        }
        publicKeyInfo.expectEnd();
        if (tbs.peekTag() == 0x81) {
            tbs.skip(0x81); // issuerUniqueID
        }
        if (tbs.peekTag() == 0x82) {
            tbs.skip(0x82); // subjectUniqueID
        }
        if (tbs.peekTag() == 0xa3) {
            DerReader wrapper = tbs.read(0xa3);
            DerReader extensions = wrapper.read(DerReader.SEQUENCE);
            wrapper.expectEnd();
            while (extensions.hasMore()) {
                DerReader extension = extensions.read(DerReader.SEQUENCE);
                extension.skip(DerReader.OID);
                if (extension.peekTag() == 0x01) {
                    extension.skip(0x01); // critical
                }
                extension.skip(DerReader.OCTET_STRING);
                extension.expectEnd();
            }
        }
        tbs.expectEnd();
        return rsa;
    }

    /** A UTCTime {@code YYMMDDHHMMSSZ} or GeneralizedTime {@code YYYYMMDDHHMMSSZ}: the forms RFC 5280 allows. */
    private static Instant time(DerReader r) {
        boolean utc = r.peekTag() == DerReader.UTC_TIME;
        byte[] t = r.bytes(utc ? DerReader.UTC_TIME : DerReader.GENERALIZED_TIME);
        int yearDigits = utc ? 2 : 4;
        if (t.length != yearDigits + 11 || t[t.length - 1] != 'Z') {
            throw new IllegalArgumentException("time format");
        }
        int year = digits(t, 0, yearDigits);
        if (utc) {
            year += year < 50 ? 2000 : 1900;
        }
        int month = digits(t, yearDigits, yearDigits + 2);
        int day = digits(t, yearDigits + 2, yearDigits + 4);
        int hour = digits(t, yearDigits + 4, yearDigits + 6);
        int minute = digits(t, yearDigits + 6, yearDigits + 8);
        int second = digits(t, yearDigits + 8, yearDigits + 10);
        if (hour > 23 || minute > 59 || second > 59) {
            throw new IllegalArgumentException("time of day");
        }
        long epochDay = LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3_600L + minute * 60L + second);
    }

    private static int digits(byte[] t, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            if (t[i] < '0' || t[i] > '9') {
                throw new IllegalArgumentException("time digits");
            }
            v = v * 10 + (t[i] - '0');
        }
        return v;
    }
}
