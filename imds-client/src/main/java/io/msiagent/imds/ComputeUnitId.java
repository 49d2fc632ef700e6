package io.msiagent.imds;

/**
 * The {@code cuId} object of getplatformmetadata: at least one of the two is non-blank. Members are
 * kept as IMDS sent them, an empty one included (null: absent), because the CSR carries the object
 * verbatim, as MSAL's serializer writes it (nulls omitted, empty strings kept).
 */
public record ComputeUnitId(String vmId, String vmssId) {
    public ComputeUnitId {
        if (isBlank(vmId) && isBlank(vmssId)) {
            throw new IllegalArgumentException("cuId needs a vmId or a vmssId");
        }
    }

    static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
