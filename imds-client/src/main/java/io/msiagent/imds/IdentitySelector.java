package io.msiagent.imds;

import java.util.Objects;

/**
 * Which managed identity an IMDS call is about: nothing for the system-assigned identity, or one
 * user-assigned selector appended after {@code cred-api-version=2.0} on both IMDS v2 calls.
 * The query names are the v2 ones ({@code mi_res_id}, not v1's {@code msi_res_id}).
 */
public final class IdentitySelector {
    private static final IdentitySelector SYSTEM_ASSIGNED = new IdentitySelector(null, null);

    private final String queryName;
    private final String value;

    private IdentitySelector(String queryName, String value) {
        this.queryName = queryName;
        this.value = value;
    }

    public static IdentitySelector systemAssigned() {
        return SYSTEM_ASSIGNED;
    }

    public static IdentitySelector clientId(String clientId) {
        return of("client_id", clientId);
    }

    public static IdentitySelector objectId(String objectId) {
        return of("object_id", objectId);
    }

    public static IdentitySelector resourceId(String resourceId) {
        return of("mi_res_id", resourceId);
    }

    private static IdentitySelector of(String name, String value) {
        Objects.requireNonNull(value, name);
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
        return new IdentitySelector(name, value.trim());
    }

    public boolean isSystemAssigned() {
        return queryName == null;
    }

    /** The query parameter name ({@code client_id}, {@code object_id}, {@code mi_res_id}), or null. */
    public String queryName() {
        return queryName;
    }

    /** The query parameter value, or null for the system-assigned identity. */
    public String value() {
        return value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdentitySelector other
                && Objects.equals(queryName, other.queryName)
                && Objects.equals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(queryName, value);
    }

    @Override
    public String toString() {
        return isSystemAssigned() ? "system-assigned" : queryName + "=" + value;
    }
}
