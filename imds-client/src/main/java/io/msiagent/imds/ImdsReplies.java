package io.msiagent.imds;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Base64;

/** Maps the JSON of the two IMDS v2 replies to their values (protocol §1.3, §1.4). */
final class ImdsReplies {
    private ImdsReplies() {
    }

    /** getplatformmetadata: {@code clientId}, {@code tenantId}, {@code cuId {vmId, vmssId}}, {@code attestationEndpoint}. */
    static PlatformMetadata platformMetadata(byte[] body) throws ReplyFormatException {
        JsonReply json = JsonReply.parse(body);
        JsonReply cuId = json.requiredObject("cuId");
        // One of the two may be empty (a VM outside a scale set): kept as sent, since the CSR carries cuId verbatim.
        String vmId = cuId.optionalText("vmId").orElse(null);
        String vmssId = cuId.optionalText("vmssId").orElse(null);
        if (ComputeUnitId.isBlank(vmId) && ComputeUnitId.isBlank(vmssId)) {
            throw new ReplyFormatException("field 'cuId' has neither 'vmId' nor 'vmssId'");
        }
        return new PlatformMetadata(json.requiredString("clientId"), json.requiredString("tenantId"),
                new ComputeUnitId(vmId, vmssId), json.requiredString("attestationEndpoint"));
    }

    /**
     * issuecredential: {@code client_id}, {@code tenant_id}, {@code certificate} (base64 of one DER
     * X.509 certificate), {@code identity_type}, {@code mtls_authentication_endpoint}; all required.
     */
    static IssuedCredential issuedCredential(byte[] body, String clientRequestId, String serverRequestId) throws ReplyFormatException {
        JsonReply json = JsonReply.parse(body);
        String clientId = json.requiredString("client_id");
        String tenantId = json.requiredString("tenant_id");
        byte[] certificate = derCertificate(json.requiredString("certificate"));
        return new IssuedCredential(clientId, tenantId, certificate, json.requiredString("identity_type"),
                json.requiredString("mtls_authentication_endpoint"), clientRequestId, serverRequestId);
    }

    /** Line breaks and spaces in base64 (wrapped at 64 or 76 columns) are ignored, as .NET's Convert.FromBase64String does. */
    private static String withoutWhitespace(String base64) {
        StringBuilder out = new StringBuilder(base64.length());
        for (int i = 0; i < base64.length(); i++) {
            char c = base64.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static byte[] derCertificate(String base64) throws ReplyFormatException {
        byte[] der;
        try {
            der = Base64.getDecoder().decode(withoutWhitespace(base64));
        } catch (IllegalArgumentException e) {
            throw new ReplyFormatException("field 'certificate' is not base64 (" + e.getMessage() + ")", e);
        }
        // CertificateFactory also accepts PEM text, and ignores bytes after the first certificate;
        // re-encoding and comparing makes sure we got exactly one DER certificate and nothing else.
        try {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            if (!Arrays.equals(cert.getEncoded(), der)) {
                throw new ReplyFormatException("field 'certificate' is not exactly one DER X.509 certificate");
            }
        } catch (CertificateException | RuntimeException e) {
            throw new ReplyFormatException("field 'certificate' is base64 but not a DER X.509 certificate ("
                    + e.getClass().getSimpleName() + ")", e);
        }
        return der;
    }
}
