package io.msiagent.core;

import io.msiagent.imds.IdentitySelector;
import java.util.Objects;

/**
 * A managed identity: the system-assigned one, or a user-assigned one named by client id, object
 * (principal) id or ARM resource id. {@link #toString()} is the form scripts see
 * ({@code system}, {@code client_id=<id>}, {@code object_id=<id>}, {@code resource_id=<id>}).
 */
public final class ManagedIdentityId {
    public enum Kind {
        SYSTEM_ASSIGNED("system"),
        CLIENT_ID("client_id"),
        OBJECT_ID("object_id"),
        RESOURCE_ID("resource_id");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** {@code system}, {@code client_id}, {@code object_id} or {@code resource_id}. */
        public String label() {
            return label;
        }
    }

    private static final ManagedIdentityId SYSTEM = new ManagedIdentityId(Kind.SYSTEM_ASSIGNED, null);

    private final Kind kind;
    private final String value;

    private ManagedIdentityId(Kind kind, String value) {
        this.kind = kind;
        this.value = value;
    }

    public static ManagedIdentityId systemAssigned() {
        return SYSTEM;
    }

    public static ManagedIdentityId clientId(String clientId) {
        return of(Kind.CLIENT_ID, clientId);
    }

    public static ManagedIdentityId objectId(String objectId) {
        return of(Kind.OBJECT_ID, objectId);
    }

    public static ManagedIdentityId resourceId(String resourceId) {
        return of(Kind.RESOURCE_ID, resourceId);
    }

    private static ManagedIdentityId of(Kind kind, String value) {
        Objects.requireNonNull(value, kind.label);
        if (value.isBlank()) {
            throw new IllegalArgumentException(kind.label + " must not be blank");
        }
        return new ManagedIdentityId(kind, value.trim());
    }

    public Kind kind() {
        return kind;
    }

    /** The id as given (trimmed); null for the system-assigned identity. */
    public String value() {
        return value;
    }

    public boolean isSystemAssigned() {
        return kind == Kind.SYSTEM_ASSIGNED;
    }

    /** The selector IMDS v2 expects for this identity. */
    public IdentitySelector selector() {
        switch (kind) {
            case CLIENT_ID:
                return IdentitySelector.clientId(value);
            case OBJECT_ID:
                return IdentitySelector.objectId(value);
            case RESOURCE_ID:
                return IdentitySelector.resourceId(value);
            default:
                return IdentitySelector.systemAssigned();
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ManagedIdentityId other && kind == other.kind && Objects.equals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, value);
    }

    @Override
    public String toString() {
        return isSystemAssigned() ? kind.label : kind.label + "=" + value;
    }
}
