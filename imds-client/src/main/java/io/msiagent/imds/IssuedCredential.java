package io.msiagent.imds;

import java.util.Arrays;
import java.util.Objects;

/**
 * The reply of {@code POST /metadata/identity/issuecredential}. The certificate is DER; it is not
 * yet validated against our key (core does that before anything is published).
 * {@code clientRequestId} (the {@code x-ms-client-request-id} we sent) and {@code serverRequestId}
 * (the server's {@code x-ms-request-id}, null when it sent none) name the call for an error about
 * what it returned; they are not part of equality.
 */
public record IssuedCredential(String clientId, String tenantId, byte[] certificateDer, String identityType,
                               String mtlsAuthenticationEndpoint, String clientRequestId, String serverRequestId) {
    /** A reply whose request ids are unknown (built outside a call). */
    public IssuedCredential(String clientId, String tenantId, byte[] certificateDer, String identityType,
            String mtlsAuthenticationEndpoint) {
        this(clientId, tenantId, certificateDer, identityType, mtlsAuthenticationEndpoint, null, null);
    }

    public IssuedCredential {
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(certificateDer, "certificateDer");
        Objects.requireNonNull(identityType, "identityType");
        Objects.requireNonNull(mtlsAuthenticationEndpoint, "mtlsAuthenticationEndpoint");
        certificateDer = certificateDer.clone();
    }

    @Override
    public byte[] certificateDer() {
        return certificateDer.clone();
    }

    /**
     * {@code trimEnd(mtls_authentication_endpoint, '/') + "/" + trim(tenant_id, '/') + "/oauth2/v2.0/token"}.
     */
    public String tokenEndpoint() {
        return tokenEndpoint(mtlsAuthenticationEndpoint, tenantId);
    }

    public static String tokenEndpoint(String mtlsAuthenticationEndpoint, String tenantId) {
        String base = mtlsAuthenticationEndpoint.replaceAll("/+$", "");
        String tenant = tenantId.replaceAll("^/+|/+$", "");
        return base + "/" + tenant + "/oauth2/v2.0/token";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IssuedCredential other
                && clientId.equals(other.clientId)
                && tenantId.equals(other.tenantId)
                && Arrays.equals(certificateDer, other.certificateDer)
                && identityType.equals(other.identityType)
                && mtlsAuthenticationEndpoint.equals(other.mtlsAuthenticationEndpoint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(clientId, tenantId, Arrays.hashCode(certificateDer), identityType, mtlsAuthenticationEndpoint);
    }

    @Override
    public String toString() {
        return "IssuedCredential[clientId=" + clientId + ", tenantId=" + tenantId + ", certificate=" + certificateDer.length
                + " bytes, identityType=" + identityType + ", endpoint=" + mtlsAuthenticationEndpoint + "]";
    }
}
