package io.msiagent.core.testing;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.RsaPssCapability;
import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A private key that behaves like a TPM key without RSA-PSS (salt = hash length): a handle over a
 * software RSA key (no encoding, modulus only) that signs PKCS#1 v1.5 through {@link #PROVIDER}
 * and whose {@code RSASSA-PSS} signing is refused at {@code initSign}, as msi-agent's CNG provider
 * refuses such a TPM key. Records which signature algorithms it signed with.
 */
public final class Pkcs1OnlyKey implements PrivateKey, RSAKey, RsaPssCapability {
    private static final long serialVersionUID = 1L;

    /** Signs with {@link Pkcs1OnlyKey}s only ({@code SupportedKeyClasses}); installed by {@link #of}. */
    public static final Provider PROVIDER = new Pkcs1OnlyProvider();

    private final transient PrivateKey software;
    private final BigInteger modulus;
    private final transient List<String> signedWith = new CopyOnWriteArrayList<>();

    private Pkcs1OnlyKey(PrivateKey software, BigInteger modulus) {
        this.software = software;
        this.modulus = modulus;
    }

    /** Wraps the private half of {@code keys}, installing {@link #PROVIDER} (last) so that JSSE finds it. */
    public static synchronized Pkcs1OnlyKey of(KeyPair keys) {
        if (Security.getProvider(PROVIDER.getName()) == null) {
            Security.addProvider(PROVIDER);
        }
        return new Pkcs1OnlyKey(keys.getPrivate(), ((RSAKey) keys.getPublic()).getModulus());
    }

    /** A whole credential like {@link TestCredentials#credential(ManagedIdentityId)}, with a TPM key of this kind. */
    public static MtlsCredential credential(TestCredentials ca, ManagedIdentityId identity, Duration lifetime) {
        KeyPair keys = TestCredentials.rsa2048();
        Instant notBefore = Instant.now().minus(Duration.ofMinutes(1));
        X509Certificate cert = ca.issue(keys.getPublic(), notBefore, notBefore.plus(lifetime));
        return MtlsCredential.builder()
                .identity(identity)
                .chain(List.of(cert))
                .privateKey(of(keys))
                .clientId(TestCredentials.CLIENT_ID)
                .tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/" + TestCredentials.TENANT_ID + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(lifetime.dividedBy(2)))
                .keyProtection(KeyProtection.TPM)
                .attested(false)
                .build();
    }

    /** The JCA algorithms this key has signed with, in order. */
    public List<String> signedWith() {
        return List.copyOf(signedWith);
    }

    @Override
    public boolean canSignRsaPss() {
        return false;
    }

    @Override
    public String rsaPssLimitation() {
        return "test TPM key signs RSA-PSS with maximum salt only";
    }

    @Override
    public String getAlgorithm() {
        return "RSA";
    }

    @Override
    public String getFormat() {
        return null;
    }

    @Override
    public byte[] getEncoded() {
        return null;
    }

    @Override
    public BigInteger getModulus() {
        return modulus;
    }

    private static final class Pkcs1OnlyProvider extends Provider {
        private static final long serialVersionUID = 1L;

        Pkcs1OnlyProvider() {
            super("MsiAgentTestPkcs1Only", "1.0", "msi-agent tests: a key that refuses RSA-PSS");
            Map<String, String> attrs = Map.of("SupportedKeyClasses", Pkcs1OnlyKey.class.getName());
            for (String alg : List.of("SHA256withRSA", "SHA384withRSA", "SHA512withRSA")) {
                putService(new Service(this, "Signature", alg, Pkcs1Signature.class.getName(), null, attrs) {
                    @Override
                    public Object newInstance(Object parameter) {
                        return new Pkcs1Signature(alg);
                    }
                });
            }
            putService(new Service(this, "Signature", "RSASSA-PSS", RefusedPss.class.getName(), null, attrs) {
                @Override
                public Object newInstance(Object parameter) {
                    return new RefusedPss();
                }
            });
        }
    }

    /** PKCS#1 v1.5 with the wrapped software key, recorded on the key. */
    private static final class Pkcs1Signature extends SignatureSpi {
        private final String algorithm;
        private Signature software;
        private Pkcs1OnlyKey key;

        Pkcs1Signature(String algorithm) {
            this.algorithm = algorithm;
        }

        @Override
        protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
            throw new InvalidKeyException("sign only");
        }

        @Override
        protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
            if (!(privateKey instanceof Pkcs1OnlyKey)) {
                throw new InvalidKeyException("not a Pkcs1OnlyKey");
            }
            key = (Pkcs1OnlyKey) privateKey;
            try {
                software = Signature.getInstance(algorithm, "SunRsaSign");
            } catch (java.security.GeneralSecurityException e) {
                throw new InvalidKeyException(e);
            }
            software.initSign(key.software);
        }

        @Override
        protected void engineUpdate(byte b) throws SignatureException {
            software.update(b);
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) throws SignatureException {
            software.update(b, off, len);
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            key.signedWith.add(algorithm);
            return software.sign();
        }

        @Override
        protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
            throw new SignatureException("sign only");
        }

        @Override
        @Deprecated
        protected void engineSetParameter(String param, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        @Deprecated
        protected Object engineGetParameter(String param) {
            throw new UnsupportedOperationException();
        }
    }

    /** The device cannot do PSS with salt = hash length: refused where JSSE tries a scheme (initSign). */
    private static final class RefusedPss extends SignatureSpi {
        @Override
        protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
            throw new InvalidKeyException("sign only");
        }

        @Override
        protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
            throw new InvalidKeyException("this key cannot sign RSA-PSS with salt = hash length");
        }

        @Override
        protected void engineUpdate(byte b) throws SignatureException {
            throw new SignatureException("not initialised");
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) throws SignatureException {
            throw new SignatureException("not initialised");
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            throw new SignatureException("not initialised");
        }

        @Override
        protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
            throw new SignatureException("not initialised");
        }

        @Override
        @Deprecated
        protected void engineSetParameter(String param, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        @Deprecated
        protected Object engineGetParameter(String param) {
            throw new UnsupportedOperationException();
        }
    }
}
