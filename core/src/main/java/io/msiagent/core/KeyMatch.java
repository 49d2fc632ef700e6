package io.msiagent.core;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;

/** Does a private key belong to a public key (a certificate's)? The one place that decides it. */
public final class KeyMatch {
    private static final byte[] PROBE = {0x6d, 0x73, 0x69};

    private KeyMatch() {
    }

    /**
     * True when {@code privateKey} is the private half of {@code publicKey}. RSA keys whose CRT
     * parameters are readable are compared by modulus and exponent; RSA handles that expose only
     * their modulus (CNG keys) by modulus — a PSS sign probe would wrongly reject TPM keys that
     * cannot do PSS; anything else is checked with a sign-and-verify probe.
     */
    public static boolean matches(PublicKey publicKey, PrivateKey privateKey) {
        if (publicKey instanceof RSAPublicKey pub && privateKey instanceof RSAPrivateCrtKey priv) {
            return pub.getModulus().equals(priv.getModulus())
                    && pub.getPublicExponent().equals(priv.getPublicExponent());
        }
        if (publicKey instanceof RSAPublicKey pub && privateKey instanceof RSAKey priv && priv.getModulus() != null) {
            return pub.getModulus().equals(priv.getModulus());
        }
        return signProbe(publicKey, privateKey);
    }

    private static boolean signProbe(PublicKey publicKey, PrivateKey privateKey) {
        try {
            PSSParameterSpec pss = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
            Signature signer = Signature.getInstance("RSASSA-PSS");
            signer.initSign(privateKey);
            signer.setParameter(pss);
            signer.update(PROBE);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance("RSASSA-PSS");
            verifier.initVerify(publicKey);
            verifier.setParameter(pss);
            verifier.update(PROBE);
            return verifier.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
