package io.msiagent.imds;

import java.util.Objects;

/** The reply of {@code GET /metadata/identity/getplatformmetadata}: who we are, as IMDS sees it. */
public record PlatformMetadata(String clientId, String tenantId, ComputeUnitId cuId, String attestationEndpoint) {
    public PlatformMetadata {
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(cuId, "cuId");
        Objects.requireNonNull(attestationEndpoint, "attestationEndpoint");
    }
}
