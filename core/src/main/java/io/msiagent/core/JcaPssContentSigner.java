package io.msiagent.core;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;

/**
 * RSASSA-PSS / SHA-256 / MGF1-SHA-256 / salt 32 through JCA {@code Signature} of the key's own
 * provider, so a key that never leaves CNG signs inside CNG. The AlgorithmIdentifier matches
 * MSAL.NET's byte for byte: SHA-256 identifiers without NULL parameters, trailer field omitted.
 */
final class JcaPssContentSigner implements ContentSigner {
    static final PSSParameterSpec PSS_SHA256 = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);

    private static final AlgorithmIdentifier SHA256 = new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256);
    static final AlgorithmIdentifier ALGORITHM = new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS,
            new RSASSAPSSparams(SHA256, new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, SHA256), new ASN1Integer(32),
                    RSASSAPSSparams.DEFAULT_TRAILER_FIELD));

    private final PrivateKey key;
    private final Provider provider;
    private final ByteArrayOutputStream content = new ByteArrayOutputStream();

    JcaPssContentSigner(PrivateKey key, Provider provider) {
        this.key = key;
        this.provider = provider;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return ALGORITHM;
    }

    @Override
    public OutputStream getOutputStream() {
        return content;
    }

    @Override
    public byte[] getSignature() {
        try {
            Signature signer = provider == null ? Signature.getInstance("RSASSA-PSS") : Signature.getInstance("RSASSA-PSS", provider);
            signer.initSign(key);
            signer.setParameter(PSS_SHA256);
            signer.update(content.toByteArray());
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSASSA-PSS signing failed in provider "
                    + (provider != null ? provider.getName() : "default") + ": " + e.getMessage(), e);
        }
    }
}
