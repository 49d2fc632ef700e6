package io.msiagent.core;

import io.msiagent.core.spi.ManagedKey;
import io.msiagent.imds.ComputeUnitId;
import io.msiagent.imds.PlatformMetadata;
import java.io.IOException;
import java.util.Objects;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;

/**
 * The PKCS#10 request IMDS {@code issuecredential} expects (protocol document §2): subject DC then
 * CN in DER order, one attribute {@value #CU_ID_OID} holding the compact JSON of {@code cuId}, and
 * an RSASSA-PSS signature made with the managed key's own provider. Produces DER.
 */
public final class CsrBuilder {
    /** The compute-unit attribute MSAL.NET puts into the CSR. */
    public static final String CU_ID_OID = "1.3.6.1.4.1.311.90.2.10";

    private static final Pattern GUID = Pattern.compile("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");

    private CsrBuilder() {
    }

    /** The DER CSR for {@code key}, subject and attribute from {@code metadata}. */
    public static byte[] build(ManagedKey key, PlatformMetadata metadata) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(metadata, "metadata");
        // Built RDN by RDN: X500Name("CN=..,DC=..") would keep string order, but the DER must hold DC first.
        X500Name subject = new X500Name(new RDN[] {
            new RDN(new AttributeTypeAndValue(BCStyle.DC, new DERIA5String(metadata.tenantId()))),
            new RDN(new AttributeTypeAndValue(BCStyle.CN, commonName(metadata.clientId()))),
        });
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.publicKey().getEncoded());
        PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(subject, spki)
                .addAttribute(new ASN1ObjectIdentifier(CU_ID_OID), new DERUTF8String(cuIdJson(metadata.cuId())));
        try {
            return builder.build(new JcaPssContentSigner(key.privateKey(), key.signatureProvider())).toASN1Structure()
                    .getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode CSR", e);
        }
    }

    /** Windows picks PrintableString for a GUID; anything else goes as UTF8String. */
    private static ASN1Encodable commonName(String clientId) {
        return GUID.matcher(clientId).matches() ? new DERPrintableString(clientId) : new DERUTF8String(clientId);
    }

    /** {@code {"vmId":"..","vmssId":".."}}, in that order, absent members omitted. */
    static String cuIdJson(ComputeUnitId cuId) {
        StringBuilder json = new StringBuilder("{");
        if (cuId.vmId() != null) {
            json.append("\"vmId\":");
            appendJsonString(json, cuId.vmId());
        }
        if (cuId.vmssId() != null) {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append("\"vmssId\":");
            appendJsonString(json, cuId.vmssId());
        }
        return json.append('}').toString();
    }

    private static void appendJsonString(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
