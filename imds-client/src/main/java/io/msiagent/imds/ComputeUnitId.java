package io.msiagent.imds;

/** The {@code cuId} object of getplatformmetadata; at least one of the two is present. */
public record ComputeUnitId(String vmId, String vmssId) {
    public ComputeUnitId {
        if (isBlank(vmId) && isBlank(vmssId)) {
            throw new IllegalArgumentException("cuId needs a vmId or a vmssId");
        }
        vmId = isBlank(vmId) ? null : vmId;
        vmssId = isBlank(vmssId) ? null : vmssId;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
