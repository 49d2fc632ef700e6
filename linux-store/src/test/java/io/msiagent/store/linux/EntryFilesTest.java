package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.ManagedIdentityId;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EntryFilesTest {
    private static final String GUID = "6C2E1B7A-0D4F-4D0B-9E43-2B4C8A0F1E22";
    private static final String ARM = "/subscriptions/0000/resourceGroups/rg/providers/"
            + "Microsoft.ManagedIdentity/userAssignedIdentities/../../etc/passwd";

    @Test
    void systemAssignedKeepsTheMsalName() {
        assertEquals("msal_mtls", EntryFiles.baseName(ManagedIdentityId.systemAssigned()));
    }

    @Test
    void guidIdsAreReadableAndCaseInsensitive() {
        assertEquals("msal_mtls_client_id_" + GUID.toLowerCase(), EntryFiles.baseName(ManagedIdentityId.clientId(GUID)));
        assertEquals(EntryFiles.baseName(ManagedIdentityId.clientId(GUID)),
                EntryFiles.baseName(ManagedIdentityId.clientId(GUID.toLowerCase())));
        assertEquals("msal_mtls_object_id_" + GUID.toLowerCase(), EntryFiles.baseName(ManagedIdentityId.objectId(GUID)));
    }

    @Test
    void resourceIdsAndOddIdsAreHashedIntoSafeNames() {
        for (ManagedIdentityId id : List.of(ManagedIdentityId.resourceId(ARM), ManagedIdentityId.clientId("../x/\0y"),
                ManagedIdentityId.objectId("not a guid"), ManagedIdentityId.clientId(GUID.replace('-', '_')),
                ManagedIdentityId.clientId(GUID.replace('C', 'G')), ManagedIdentityId.clientId(GUID + "0"),
                ManagedIdentityId.clientId("\uff16" + GUID.substring(1)), ManagedIdentityId.objectId(GUID.substring(1) + "-"))) {
            String base = EntryFiles.baseName(id);
            assertTrue(base.matches("msal_mtls_(client_id|object_id|resource_id)_[0-9a-f]{16}"), base);
        }
        assertEquals(EntryFiles.baseName(ManagedIdentityId.resourceId(ARM)),
                EntryFiles.baseName(ManagedIdentityId.resourceId(ARM.toUpperCase())));
    }

    /** The names are on disk already: what an earlier version stored must be found by a later one. */
    @Test
    void hashedNamesAreTheFirst16HexOfTheSha256OfTheLowerCasedId() {
        // printf '%s' <lower-cased id> | sha256sum | cut -c1-16
        assertEquals("msal_mtls_resource_id_817dad79de1b520c", EntryFiles.baseName(ManagedIdentityId.resourceId(ARM)));
        assertEquals("msal_mtls_object_id_02b53c8bd6cbc03e", EntryFiles.baseName(ManagedIdentityId.objectId("Not A GUID")));
    }

    @Test
    void namesNeverCollideAcrossKindsAndIds() {
        List<ManagedIdentityId> ids = List.of(ManagedIdentityId.systemAssigned(), ManagedIdentityId.clientId(GUID),
                ManagedIdentityId.objectId(GUID), ManagedIdentityId.resourceId(GUID), ManagedIdentityId.resourceId(ARM),
                ManagedIdentityId.clientId("a"), ManagedIdentityId.objectId("a"), ManagedIdentityId.resourceId("a"),
                ManagedIdentityId.clientId("6c2e1b7a-0d4f-4d0b-9e43-2b4c8a0f1e23"));
        Set<String> names = new HashSet<>();
        for (ManagedIdentityId id : ids) {
            assertTrue(names.add(EntryFiles.baseName(id)), "duplicate name for " + id);
        }
    }

    @Test
    void quarantineAndTempNamesBelongOnlyToTheirIdentity() {
        EntryFiles system = new EntryFiles(java.nio.file.Path.of("/s"), ManagedIdentityId.systemAssigned());
        assertTrue(system.isQuarantined("msal_mtls.pem.corrupt-20261122T120102Z"));
        assertFalse(system.isQuarantined("msal_mtls_client_id_" + GUID.toLowerCase() + ".pem.corrupt-20261122T120102Z"));
        assertTrue(system.isTemp(".msal_mtls.json.tmp-0011223344556677"));
        assertFalse(system.isTemp(".msal_mtls_client_id_x.json.tmp-0011223344556677"));
    }
}
