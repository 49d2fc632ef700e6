package io.msiagent.store.windows;

import java.security.AlgorithmParameters;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.InvalidParameterException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.InvalidParameterSpecException;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Locale;
import java.util.Map;

/**
 * Signs with a {@link CngPrivateKey}: the message is hashed in Java and the digest is signed
 * inside CNG by {@code NCryptSignHash} (PKCS#1 v1.5 or PSS padding). Sign-only: verification stays
 * with the JDK's providers (the service only claims {@link CngPrivateKey}).
 */
abstract class CngSignature extends SignatureSpi {
    /** JCA digest name to CNG hash id. */
    private static final Map<String, String> CNG_HASH_IDS = Map.of(
            "SHA-256", "SHA256", "SHA-384", "SHA384", "SHA-512", "SHA512");

    private CngPrivateKey key;

    @Override
    protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
        throw new InvalidKeyException("MsiAgentCng signs only; verify with a JDK provider");
    }

    @Override
    protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
        if (!(privateKey instanceof CngPrivateKey)) {
            throw new InvalidKeyException("MsiAgentCng signs only with CNG keys, got "
                    + (privateKey == null ? "null" : privateKey.getClass().getName()));
        }
        CngPrivateKey cng = (CngPrivateKey) privateKey;
        checkKey(cng);
        this.key = cng;
        resetDigest();
    }

    /** A subclass refuses keys it cannot sign with (PSS on a PKCS#1-only TPM key). */
    void checkKey(CngPrivateKey cng) throws InvalidKeyException {
    }

    abstract void resetDigest();

    abstract MessageDigest digest() throws SignatureException;

    abstract WindowsCrypto.SignPadding padding() throws SignatureException;

    @Override
    protected void engineUpdate(byte b) throws SignatureException {
        digest().update(b);
    }

    @Override
    protected void engineUpdate(byte[] b, int off, int len) throws SignatureException {
        digest().update(b, off, len);
    }

    @Override
    protected byte[] engineSign() throws SignatureException {
        if (key == null) {
            throw new SignatureException("not initialised for signing");
        }
        byte[] hash = digest().digest();
        try {
            return key.crypto().signHash(key.handle(), padding(), hash);
        } catch (WindowsCryptoException | IllegalStateException e) {
            throw new SignatureException("CNG could not sign with key " + key.keyName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
        throw new SignatureException("MsiAgentCng signs only");
    }

    @Override
    @Deprecated
    protected void engineSetParameter(String param, Object value) {
        throw new InvalidParameterException("no parameters");
    }

    @Override
    @Deprecated
    protected Object engineGetParameter(String param) {
        throw new InvalidParameterException("no parameters");
    }

    static String cngHashId(String jcaDigest) throws InvalidAlgorithmParameterException {
        String id = CNG_HASH_IDS.get(jcaDigest.toUpperCase(Locale.ROOT));
        if (id == null) {
            throw new InvalidAlgorithmParameterException("unsupported digest " + jcaDigest);
        }
        return id;
    }

    static MessageDigest newDigest(String jcaDigest) {
        try {
            return MessageDigest.getInstance(jcaDigest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(jcaDigest + " missing from the JDK", e);
        }
    }

    /** {@code SHA<n>withRSA}: PKCS#1 v1.5. */
    static class Pkcs1 extends CngSignature {
        private final String jcaDigest;
        private final WindowsCrypto.SignPadding padding;
        private MessageDigest digest;

        Pkcs1(String jcaDigest) {
            this.jcaDigest = jcaDigest;
            this.padding = WindowsCrypto.SignPadding.pkcs1(CNG_HASH_IDS.get(jcaDigest));
        }

        @Override
        void resetDigest() {
            digest = newDigest(jcaDigest);
        }

        @Override
        MessageDigest digest() throws SignatureException {
            if (digest == null) {
                throw new SignatureException("not initialised for signing");
            }
            return digest;
        }

        @Override
        WindowsCrypto.SignPadding padding() {
            return padding;
        }

        @Override
        protected void engineSetParameter(AlgorithmParameterSpec params) throws InvalidAlgorithmParameterException {
            if (params != null) {
                throw new InvalidAlgorithmParameterException(jcaDigest + "withRSA takes no parameters");
            }
        }

        @Override
        protected AlgorithmParameters engineGetParameters() {
            return null;
        }
    }

    public static final class Sha256 extends Pkcs1 {
        public Sha256() {
            super("SHA-256");
        }
    }

    public static final class Sha384 extends Pkcs1 {
        public Sha384() {
            super("SHA-384");
        }
    }

    public static final class Sha512 extends Pkcs1 {
        public Sha512() {
            super("SHA-512");
        }
    }

    /** {@code RSASSA-PSS}: parameters must be set (as JSSE and the JDK do); MGF1 with the same digest. */
    public static final class Pss extends CngSignature {
        private PSSParameterSpec spec;
        private MessageDigest digest;

        public Pss() {
        }

        @Override
        void checkKey(CngPrivateKey cng) throws InvalidKeyException {
            if (!cng.canSignRsaPss()) {
                throw new InvalidKeyException("CNG key " + cng.keyName() + " (" + cng.protection()
                        + ") cannot sign RSA-PSS with salt = hash length");
            }
        }

        @Override
        protected void engineSetParameter(AlgorithmParameterSpec params) throws InvalidAlgorithmParameterException {
            if (!(params instanceof PSSParameterSpec)) {
                throw new InvalidAlgorithmParameterException("RSASSA-PSS needs a PSSParameterSpec");
            }
            PSSParameterSpec p = (PSSParameterSpec) params;
            cngHashId(p.getDigestAlgorithm());
            if (!"MGF1".equalsIgnoreCase(p.getMGFAlgorithm())
                    || !(p.getMGFParameters() instanceof MGF1ParameterSpec)
                    || !((MGF1ParameterSpec) p.getMGFParameters()).getDigestAlgorithm()
                            .equalsIgnoreCase(p.getDigestAlgorithm())) {
                throw new InvalidAlgorithmParameterException("CNG signs PSS only with MGF1 over the message digest");
            }
            if (p.getTrailerField() != PSSParameterSpec.TRAILER_FIELD_BC) {
                throw new InvalidAlgorithmParameterException("unsupported PSS trailer field " + p.getTrailerField());
            }
            if (p.getSaltLength() < 0) {
                throw new InvalidAlgorithmParameterException("negative PSS salt length");
            }
            this.spec = p;
            this.digest = newDigest(p.getDigestAlgorithm());
        }

        @Override
        protected AlgorithmParameters engineGetParameters() {
            if (spec == null) {
                return null;
            }
            try {
                AlgorithmParameters ap = AlgorithmParameters.getInstance("RSASSA-PSS");
                ap.init(spec);
                return ap;
            } catch (NoSuchAlgorithmException | InvalidParameterSpecException e) {
                throw new IllegalStateException("JDK cannot encode PSS parameters", e);
            }
        }

        @Override
        void resetDigest() {
            if (spec != null) {
                digest = newDigest(spec.getDigestAlgorithm());
            }
        }

        @Override
        MessageDigest digest() throws SignatureException {
            if (digest == null) {
                throw new SignatureException("RSASSA-PSS parameters not set");
            }
            return digest;
        }

        @Override
        WindowsCrypto.SignPadding padding() throws SignatureException {
            if (spec == null) {
                throw new SignatureException("RSASSA-PSS parameters not set");
            }
            try {
                return WindowsCrypto.SignPadding.pss(cngHashId(spec.getDigestAlgorithm()), spec.getSaltLength());
            } catch (InvalidAlgorithmParameterException e) {
                throw new SignatureException(e);
            }
        }
    }
}
