package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.InMemoryCredentialStore;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.testing.TestCredentials;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent saves a credential every renewal for months: what the CLI remembers of its saves stays bounded. */
class ObservedStoreTest {
    @Test
    void remembersTheNewestSavesOnly() {
        ObservedStore store = new ObservedStore(new InMemoryCredentialStore());
        TestCredentials ca = TestCredentials.newCa();
        List<MtlsCredential> saved = new ArrayList<>();
        for (int i = 0; i < ObservedStore.HISTORY + 5; i++) {
            MtlsCredential c = ca.credential(ManagedIdentityId.systemAssigned());
            store.save(c);
            saved.add(c);
        }
        assertEquals(saved.subList(5, saved.size()), store.issuedHere(), "the newest, oldest first");
        assertTrue(store.savedHere(saved.get(saved.size() - 1).x5tS256()));
        assertFalse(store.savedHere(saved.get(0).x5tS256()), "the oldest are forgotten");
    }
}
