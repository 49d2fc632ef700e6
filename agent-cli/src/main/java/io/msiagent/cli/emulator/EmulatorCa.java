package io.msiagent.cli.emulator;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The emulator's throwaway certificate authority (RSA-2048, SHA256withRSA): it signs the issued
 * client certificates, the token endpoint's server certificate and the access tokens. Generated
 * at start, or loaded from / saved to a directory ({@code ca-key.pem} 0600, {@code ca.pem}).
 */
public final class EmulatorCa {
    public static final String KEY_FILE = "ca-key.pem";
    public static final String CERT_FILE = "ca.pem";

    private static final Logger LOG = LoggerFactory.getLogger(EmulatorCa.class);
    private static final Duration CA_LIFETIME = Duration.ofDays(3650);

    private final KeyPair keys;
    private final X509Certificate certificate;
    private final SecureRandom random = new SecureRandom();

    private EmulatorCa(KeyPair keys, X509Certificate certificate) {
        this.keys = keys;
        this.certificate = certificate;
    }

    /** A fresh CA valid from an hour ago for ten years. */
    public static EmulatorCa generate(Clock clock) {
        try {
            KeyPair keys = newRsaKeyPair(2048);
            Instant now = clock.instant();
            X500Name name = new X500Name("CN=msi-agent IMDS emulator CA,O=msi-agent emulator");
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(127, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_LIFETIME)), name, keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new EmulatorCa(keys, sign(b, keys.getPrivate()));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot create the emulator CA", e);
        }
    }

    /**
     * Loads the CA from {@code dir} when both files exist; otherwise generates one and saves it
     * there (directory 0700, key 0600 from creation on POSIX file systems).
     */
    public static EmulatorCa loadOrCreate(Path dir, Clock clock) {
        Path keyFile = dir.resolve(KEY_FILE);
        Path certFile = dir.resolve(CERT_FILE);
        boolean hasKey = Files.exists(keyFile);
        boolean hasCert = Files.exists(certFile);
        if (hasKey && hasCert) {
            EmulatorCa ca = load(keyFile, certFile);
            LOG.info("Loaded emulator CA from {} (x5t#S256 {})", dir, ca.thumbprint());
            return ca;
        }
        if (hasKey || hasCert) {
            throw new IllegalStateException("CA directory " + dir + " has only one of " + KEY_FILE + " and " + CERT_FILE
                    + "; remove it or add the other");
        }
        EmulatorCa ca = generate(clock);
        ca.save(dir);
        LOG.info("Created emulator CA in {} (x5t#S256 {})", dir, ca.thumbprint());
        return ca;
    }

    private static EmulatorCa load(Path keyFile, Path certFile) {
        try (Reader kr = Files.newBufferedReader(keyFile, StandardCharsets.US_ASCII);
                Reader cr = Files.newBufferedReader(certFile, StandardCharsets.US_ASCII);
                PEMParser kp = new PEMParser(kr);
                PEMParser cp = new PEMParser(cr)) {
            Object key = kp.readObject();
            Object cert = cp.readObject();
            if (!(key instanceof PrivateKeyInfo pki)) {
                throw new IllegalStateException(keyFile + " is not a PKCS#8 PRIVATE KEY PEM");
            }
            if (!(cert instanceof X509CertificateHolder holder)) {
                throw new IllegalStateException(certFile + " is not a CERTIFICATE PEM");
            }
            PrivateKey privateKey = new JcaPEMKeyConverter().getPrivateKey(pki);
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(holder);
            KeyPair keys = new KeyPair(certificate.getPublicKey(), privateKey);
            if (!matches(keys)) {
                throw new IllegalStateException(keyFile + " does not belong to " + certFile);
            }
            return new EmulatorCa(keys, certificate);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the emulator CA from " + keyFile.getParent(), e);
        }
    }

    private void save(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, posix("rwx------"));
            }
            writeAtomically(dir, KEY_FILE, pem(new JcaPKCS8Generator(keys.getPrivate(), null).generate()), posix("rw-------"));
            writeAtomically(dir, CERT_FILE, caPem(), posix("rw-r--r--"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the emulator CA to " + dir, e);
        }
    }

    private static void writeAtomically(Path dir, String name, String content, FileAttribute<?>[] attrs) throws IOException {
        Path tmp = Files.createTempFile(dir, "." + name, ".tmp", attrs);
        try {
            Files.writeString(tmp, content, StandardCharsets.US_ASCII);
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            throw new IOException(dir.resolve(name) + " appeared while saving", e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static FileAttribute<?>[] posix(String perms) {
        boolean isPosix = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        return isPosix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms))}
                : new FileAttribute<?>[0];
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public String caPem() {
        return pem(certificate);
    }

    /** base64url(SHA-256(DER)) of the CA certificate; also the JWT {@code kid}. */
    public String thumbprint() {
        return thumbprint(certificate);
    }

    /** A client-auth certificate for {@code subjectKey} with {@code subject}, valid in [notBefore, notAfter]. */
    X509Certificate issueClientCertificate(X500Name subject, PublicKey subjectKey, Instant notBefore, Instant notAfter) {
        try {
            X509v3CertificateBuilder b = builder(subject, subjectKey, notBefore, notAfter);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            return sign(b, keys.getPrivate());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue a certificate", e);
        }
    }

    /** The token endpoint's certificate: CN=127.0.0.1, SAN IP 127.0.0.1 and DNS localhost, serverAuth. */
    X509Certificate issueServerCertificate(PublicKey serverKey, Clock clock) {
        try {
            Instant now = clock.instant();
            X509v3CertificateBuilder b = builder(new X500Name("CN=127.0.0.1,O=msi-agent emulator"), serverKey,
                    now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, InetAddress.getLoopbackAddress().getHostAddress()),
                new GeneralName(GeneralName.dNSName, "localhost")}));
            return sign(b, keys.getPrivate());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue the server certificate", e);
        }
    }

    /** SHA256withRSA over {@code data} with the CA key (the access tokens' RS256 signature). */
    byte[] signRs256(byte[] data) {
        try {
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initSign(keys.getPrivate());
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign", e);
        }
    }

    private X509v3CertificateBuilder builder(X500Name subject, PublicKey key, Instant notBefore, Instant notAfter)
            throws GeneralSecurityException, IOException {
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(X500Name.getInstance(
                certificate.getSubjectX500Principal().getEncoded()), new BigInteger(127, random).add(BigInteger.ONE),
                Date.from(notBefore.truncatedTo(ChronoUnit.SECONDS)), Date.from(notAfter.truncatedTo(ChronoUnit.SECONDS)),
                subject, key);
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
        return b;
    }

    static KeyPair newRsaKeyPair(int bits) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(bits, new SecureRandom());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String thumbprint(X509Certificate cert) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String pem(Object object) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(object);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static boolean matches(KeyPair keys) throws GeneralSecurityException {
        byte[] probe = "emulator-ca-probe".getBytes(StandardCharsets.US_ASCII);
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(keys.getPrivate());
        s.update(probe);
        byte[] sig = s.sign();
        s.initVerify(keys.getPublic());
        s.update(probe);
        return s.verify(sig);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withRSA").build(key)));
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }
}
