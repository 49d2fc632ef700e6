package io.msiagent.cli.emulator;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Base64;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Builds issuecredential CSRs the way the protocol document §2 describes, with switches for each defect. */
final class TestCsr {
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();
    static final ASN1ObjectIdentifier CU_ID = new ASN1ObjectIdentifier("1.3.6.1.4.1.311.90.2.10");

    private KeyPair keys;
    private String clientId;
    private String tenantId;
    private String cuIdJson = "{\"vmId\":\"" + EmulatorConfig.DEFAULT_VM_ID + "\"}";
    private boolean withCuId = true;
    private boolean extraAttribute;
    private boolean cnFirst;
    private String signatureAlgorithm = "SHA256withRSAandMGF1";
    private PSSParameterSpec pss = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
    private boolean corruptSignature;

    TestCsr(KeyPair keys, String clientId, String tenantId) {
        this.keys = keys;
        this.clientId = clientId;
        this.tenantId = tenantId;
    }

    TestCsr keys(KeyPair k) {
        this.keys = k;
        return this;
    }

    TestCsr clientId(String v) {
        this.clientId = v;
        return this;
    }

    TestCsr tenantId(String v) {
        this.tenantId = v;
        return this;
    }

    TestCsr cuIdJson(String v) {
        this.cuIdJson = v;
        return this;
    }

    TestCsr withoutCuId() {
        this.withCuId = false;
        return this;
    }

    TestCsr extraAttribute() {
        this.extraAttribute = true;
        return this;
    }

    TestCsr cnFirst() {
        this.cnFirst = true;
        return this;
    }

    TestCsr pkcs1() {
        this.signatureAlgorithm = "SHA256withRSA";
        this.pss = null;
        return this;
    }

    TestCsr pss(PSSParameterSpec spec) {
        this.pss = spec;
        return this;
    }

    TestCsr corruptSignature() {
        this.corruptSignature = true;
        return this;
    }

    X500Name subject() {
        X500NameBuilder b = new X500NameBuilder(BCStyle.INSTANCE);
        if (cnFirst) {
            b.addRDN(BCStyle.CN, clientId).addRDN(BCStyle.DC, tenantId);
        } else {
            b.addRDN(BCStyle.DC, tenantId).addRDN(BCStyle.CN, clientId);
        }
        return b.build();
    }

    byte[] der() {
        try {
            PKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(subject(), keys.getPublic());
            if (withCuId) {
                b.addAttribute(CU_ID, new DERUTF8String(cuIdJson));
            }
            if (extraAttribute) {
                b.addAttribute(new ASN1ObjectIdentifier("1.2.840.113549.1.9.7"), new DERUTF8String("challenge"));
            }
            ContentSigner signer = pss == null
                    ? new JcaContentSignerBuilder(signatureAlgorithm).setProvider(BC).build(keys.getPrivate())
                    : new PssSigner(keys.getPrivate(), pss);
            PKCS10CertificationRequest csr = b.build(signer);
            if (!corruptSignature) {
                return csr.getEncoded();
            }
            CertificationRequest raw = csr.toASN1Structure();
            byte[] sig = raw.getSignature().getBytes();
            sig[sig.length / 2] ^= 0x5a;
            return new CertificationRequest(raw.getCertificationRequestInfo(), raw.getSignatureAlgorithm(),
                    new DERBitString(sig)).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * RSASSA-PSS through the JDK with any parameters, the AlgorithmIdentifier written as MSAL does
     * (hash identifiers without NULL parameters).
     */
    private static final class PssSigner implements ContentSigner {
        private final PrivateKey key;
        private final PSSParameterSpec spec;
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();

        PssSigner(PrivateKey key, PSSParameterSpec spec) {
            this.key = key;
            this.spec = spec;
        }

        @Override
        public AlgorithmIdentifier getAlgorithmIdentifier() {
            AlgorithmIdentifier hash = new AlgorithmIdentifier(oid(spec.getDigestAlgorithm()));
            AlgorithmIdentifier mgfHash = new AlgorithmIdentifier(
                    oid(((MGF1ParameterSpec) spec.getMGFParameters()).getDigestAlgorithm()));
            return new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, new RSASSAPSSparams(hash,
                    new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, mgfHash),
                    new ASN1Integer(spec.getSaltLength()), new ASN1Integer(spec.getTrailerField())));
        }

        private static ASN1ObjectIdentifier oid(String digest) {
            return switch (digest) {
                case "SHA-1" -> OIWObjectIdentifiers.idSHA1;
                case "SHA-256" -> NISTObjectIdentifiers.id_sha256;
                case "SHA-384" -> NISTObjectIdentifiers.id_sha384;
                default -> throw new IllegalArgumentException(digest);
            };
        }

        @Override
        public OutputStream getOutputStream() {
            return data;
        }

        @Override
        public byte[] getSignature() {
            try {
                Signature s = Signature.getInstance("RSASSA-PSS");
                s.setParameter(spec);
                s.initSign(key);
                s.update(data.toByteArray());
                return s.sign();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    String base64() {
        return Base64.getEncoder().encodeToString(der());
    }
}
