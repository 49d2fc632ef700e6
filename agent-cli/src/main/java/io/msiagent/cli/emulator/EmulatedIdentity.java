package io.msiagent.cli.emulator;

import java.util.Objects;
import java.util.UUID;

/**
 * One managed identity the emulator serves. The system-assigned identity is reached without a
 * selector; a user-assigned one by {@code client_id=}, {@code object_id=} or {@code mi_res_id=}.
 * All identities share the emulator's tenant.
 */
public record EmulatedIdentity(String clientId, String objectId, String resourceId, boolean systemAssigned) {

    public EmulatedIdentity {
        requireText(clientId, "clientId");
        requireText(objectId, "objectId");
        if (!systemAssigned) {
            requireText(resourceId, "resourceId");
        }
    }

    /** A system-assigned identity with fresh random ids. */
    public static EmulatedIdentity randomSystemAssigned() {
        return new EmulatedIdentity(uuid(), uuid(), null, true);
    }

    public static EmulatedIdentity systemAssigned(String clientId, String objectId) {
        return new EmulatedIdentity(clientId, objectId, null, true);
    }

    public static EmulatedIdentity userAssigned(String clientId, String objectId, String resourceId) {
        return new EmulatedIdentity(clientId, objectId, resourceId, false);
    }

    /** A user-assigned identity with fresh ids and an ARM resource id ending in {@code name}. */
    public static EmulatedIdentity randomUserAssigned(String name) {
        requireText(name, "name");
        return userAssigned(uuid(), uuid(), "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
                + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name);
    }

    /**
     * Parses a CLI spec {@code clientId[,objectId[,resourceId]]}; a missing object id is random, a
     * missing resource id is derived from the client id. A lone word that is not a GUID-like id is
     * taken as a name for {@link #randomUserAssigned}.
     */
    public static EmulatedIdentity parseUserAssigned(String spec) {
        requireText(spec, "user-assigned identity spec");
        String[] parts = spec.split(",", 3);
        String clientId = parts[0].trim();
        if (parts.length == 1 && !looksLikeId(clientId)) {
            return randomUserAssigned(clientId);
        }
        String objectId = parts.length > 1 && !parts[1].isBlank() ? parts[1].trim() : uuid();
        String resourceId = parts.length > 2 && !parts[2].isBlank() ? parts[2].trim()
                : "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
                        + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + clientId;
        return userAssigned(clientId, objectId, resourceId);
    }

    /** The {@code identity_type} value of issuecredential. */
    public String identityType() {
        return systemAssigned ? "SystemAssigned" : "UserAssigned";
    }

    /** Whether an IMDS selector ({@code client_id}, {@code object_id}, {@code mi_res_id}) names this identity. */
    boolean matches(String selectorName, String value) {
        return switch (selectorName) {
            case "client_id" -> clientId.equalsIgnoreCase(value);
            case "object_id" -> objectId.equalsIgnoreCase(value);
            // ARM ids are case-insensitive.
            case "mi_res_id" -> resourceId != null && resourceId.equalsIgnoreCase(value);
            default -> false;
        };
    }

    private static boolean looksLikeId(String s) {
        return s.matches("[0-9a-fA-F-]{8,}");
    }

    private static String uuid() {
        return UUID.randomUUID().toString();
    }

    private static void requireText(String value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }
}
