package io.msiagent.cli.emulator;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Base64;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * Checks an issuecredential CSR the way the protocol document describes it (§2), strictly: base64
 * DER PKCS#10 with a valid RSASSA-PSS signature (SHA-256, MGF1-SHA-256, salt 32, default trailer),
 * an RSA key of at least 2048 bits, subject exactly {CN = client id, DC = tenant id} (either RDN
 * order is accepted: the document expects DC first in DER, but only the values are specified), and
 * exactly one attribute, {@code 1.3.6.1.4.1.311.90.2.10}, a single UTF8String equal to the compact
 * cuId JSON that getplatformmetadata returned.
 */
final class CsrValidator {
    static final ASN1ObjectIdentifier CU_ID_ATTRIBUTE = new ASN1ObjectIdentifier("1.3.6.1.4.1.311.90.2.10");
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();
    private static final int MIN_RSA_BITS = 2048;

    /** What the certificate is issued for. */
    record ValidCsr(X500Name subject, PublicKey publicKey) {
    }

    private CsrValidator() {
    }

    static ValidCsr validate(String base64Csr, String clientId, String tenantId, String cuIdJson)
            throws InvalidRequestException {
        JcaPKCS10CertificationRequest csr = parse(base64Csr);
        checkSignatureAlgorithm(csr.getSignatureAlgorithm());
        PublicKey key = checkKey(csr);
        checkSignature(csr);
        checkSubject(csr.getSubject(), clientId, tenantId);
        checkAttributes(csr.getAttributes(), cuIdJson);
        return new ValidCsr(csr.getSubject(), key);
    }

    private static JcaPKCS10CertificationRequest parse(String base64Csr) throws InvalidRequestException {
        if (base64Csr == null || base64Csr.isBlank()) {
            throw new InvalidRequestException("csr is missing or empty");
        }
        byte[] der;
        try {
            der = Base64.getDecoder().decode(base64Csr.trim());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("csr is not standard base64: " + e.getMessage());
        }
        try {
            return new JcaPKCS10CertificationRequest(der).setProvider(BC);
        } catch (IOException | RuntimeException e) {
            throw new InvalidRequestException("csr is not a DER PKCS#10 certification request");
        }
    }

    private static void checkSignatureAlgorithm(AlgorithmIdentifier alg) throws InvalidRequestException {
        if (!PKCSObjectIdentifiers.id_RSASSA_PSS.equals(alg.getAlgorithm())) {
            throw new InvalidRequestException("csr signature algorithm must be RSASSA-PSS (1.2.840.113549.1.1.10), was "
                    + alg.getAlgorithm().getId());
        }
        RSASSAPSSparams params;
        try {
            params = RSASSAPSSparams.getInstance(alg.getParameters());
        } catch (RuntimeException e) {
            throw new InvalidRequestException("csr RSASSA-PSS parameters are malformed");
        }
        if (params == null) {
            throw new InvalidRequestException("csr RSASSA-PSS parameters are missing");
        }
        if (!isSha256(params.getHashAlgorithm())) {
            throw new InvalidRequestException("csr RSASSA-PSS hash must be SHA-256, was "
                    + params.getHashAlgorithm().getAlgorithm().getId());
        }
        AlgorithmIdentifier mgf = params.getMaskGenAlgorithm();
        if (!PKCSObjectIdentifiers.id_mgf1.equals(mgf.getAlgorithm())
                || !isSha256(AlgorithmIdentifier.getInstance(mgf.getParameters()))) {
            throw new InvalidRequestException("csr RSASSA-PSS mask generation must be MGF1 with SHA-256");
        }
        BigInteger salt = params.getSaltLength();
        if (!BigInteger.valueOf(32).equals(salt)) {
            throw new InvalidRequestException("csr RSASSA-PSS salt length must be 32, was " + salt);
        }
        if (!BigInteger.ONE.equals(params.getTrailerField())) {
            throw new InvalidRequestException("csr RSASSA-PSS trailer field must be the default (1)");
        }
    }

    /** SHA-256 with absent or NULL parameters (RFC 4055 allows both; MSAL writes absent). */
    private static boolean isSha256(AlgorithmIdentifier alg) {
        if (alg == null || !NISTObjectIdentifiers.id_sha256.equals(alg.getAlgorithm())) {
            return false;
        }
        ASN1Encodable p = alg.getParameters();
        return p == null || DERNull.INSTANCE.equals(p);
    }

    private static PublicKey checkKey(JcaPKCS10CertificationRequest csr) throws InvalidRequestException {
        SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
        if (!PKCSObjectIdentifiers.rsaEncryption.equals(spki.getAlgorithm().getAlgorithm())) {
            throw new InvalidRequestException("csr public key must be RSA (rsaEncryption), was "
                    + spki.getAlgorithm().getAlgorithm().getId());
        }
        PublicKey key;
        try {
            key = csr.getPublicKey();
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new InvalidRequestException("csr public key is malformed");
        }
        int bits = ((java.security.interfaces.RSAPublicKey) key).getModulus().bitLength();
        if (bits < MIN_RSA_BITS) {
            throw new InvalidRequestException("csr RSA key must have at least " + MIN_RSA_BITS + " bits, has " + bits);
        }
        return key;
    }

    private static void checkSignature(JcaPKCS10CertificationRequest csr) throws InvalidRequestException {
        boolean valid;
        try {
            valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BC)
                    .build(csr.getSubjectPublicKeyInfo()));
        } catch (OperatorCreationException | PKCSException | RuntimeException e) {
            valid = false;
        }
        if (!valid) {
            throw new InvalidRequestException("csr signature does not verify with its public key");
        }
    }

    private static void checkSubject(X500Name subject, String clientId, String tenantId) throws InvalidRequestException {
        String cn = null;
        String dc = null;
        for (RDN rdn : subject.getRDNs()) {
            if (rdn.isMultiValued()) {
                throw new InvalidRequestException("csr subject must not have multi-valued RDNs");
            }
            AttributeTypeAndValue atv = rdn.getFirst();
            String value = IETFUtils.valueToString(atv.getValue());
            if (BCStyle.CN.equals(atv.getType()) && cn == null) {
                cn = value;
            } else if (BCStyle.DC.equals(atv.getType()) && dc == null) {
                dc = value;
            } else {
                throw new InvalidRequestException("csr subject must be exactly CN=<clientId>, DC=<tenantId>; unexpected "
                        + BCStyle.INSTANCE.oidToDisplayName(atv.getType()) + " in " + subject);
            }
        }
        if (cn == null || !cn.equalsIgnoreCase(clientId)) {
            throw new InvalidRequestException("csr subject CN must be the identity's client id " + clientId + ", was " + cn);
        }
        if (dc == null || !dc.equalsIgnoreCase(tenantId)) {
            throw new InvalidRequestException("csr subject DC must be the tenant id " + tenantId + ", was " + dc);
        }
    }

    private static void checkAttributes(Attribute[] attributes, String cuIdJson) throws InvalidRequestException {
        Attribute cuId = null;
        for (Attribute a : attributes) {
            if (CU_ID_ATTRIBUTE.equals(a.getAttrType()) && cuId == null) {
                cuId = a;
            } else {
                throw new InvalidRequestException("csr has an unexpected attribute " + a.getAttrType().getId()
                        + " (only " + CU_ID_ATTRIBUTE.getId() + " is allowed)");
            }
        }
        if (cuId == null) {
            throw new InvalidRequestException("csr lacks the compute unit attribute " + CU_ID_ATTRIBUTE.getId());
        }
        ASN1Encodable[] values = cuId.getAttributeValues();
        if (values.length != 1 || !(values[0] instanceof ASN1UTF8String utf8)) {
            throw new InvalidRequestException("csr attribute " + CU_ID_ATTRIBUTE.getId() + " must hold one UTF8String");
        }
        if (!cuIdJson.equals(utf8.getString())) {
            throw new InvalidRequestException("csr attribute " + CU_ID_ATTRIBUTE.getId() + " must be " + cuIdJson
                    + ", was " + utf8.getString());
        }
    }
}
