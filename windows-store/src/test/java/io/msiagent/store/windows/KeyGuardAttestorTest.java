package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.spi.ManagedKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KeyGuardAttestorTest {
    private static final String ENDPOINT = "https://sharedeus2.eus2.attest.azure.net/";
    private static final String JWT = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3OTk5OTk5OTl9.c2lnbmF0dXJl";

    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();

    /** A stand-in for AttestationClientLib.dll: records the handle it was given and answers as told. */
    private static final class FakeLibrary implements AttestationLibrary {
        Optional<String> unavailable = Optional.empty();
        Result result = new Result(0, JWT);
        RuntimeException failure;
        final List<Long> handles = new ArrayList<>();

        @Override
        public Optional<String> unavailableReason() {
            return unavailable;
        }

        @Override
        public Result attestKeyGuardKey(String endpoint, long keyHandle, String clientId) {
            handles.add(keyHandle);
            if (failure != null) {
                throw failure;
            }
            return result;
        }
    }

    private ManagedKey keyGuardKey() {
        return CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.KEYGUARD);
    }

    @Test
    void aKeyGuardKeyIsAttestedWithItsOwnHandle() {
        FakeLibrary lib = new FakeLibrary();
        ManagedKey key = keyGuardKey();
        assertEquals(Optional.of(JWT), new KeyGuardAttestor(lib).attest(key, ENDPOINT, "client"));
        assertEquals(List.of(((CngPrivateKey) key.privateKey()).handle()), lib.handles);
        assertNull(new KeyGuardAttestor(lib).unavailableReason());
    }

    @Test
    void aMissingLibraryMeansUnattestedWithAReason() {
        FakeLibrary lib = new FakeLibrary();
        lib.unavailable = Optional.of("AttestationClientLib.dll could not be loaded");
        KeyGuardAttestor attestor = new KeyGuardAttestor(lib);
        assertEquals(Optional.empty(), attestor.attest(keyGuardKey(), ENDPOINT, "client"));
        assertTrue(attestor.unavailableReason().contains("AttestationClientLib.dll"));
        assertTrue(lib.handles.isEmpty());
    }

    @Test
    void aNonKeyGuardKeyIsNotAttested() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        ManagedKey tpm = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.SOFTWARE);
        FakeLibrary lib = new FakeLibrary();
        assertEquals(Optional.empty(), new KeyGuardAttestor(lib).attest(tpm, ENDPOINT, "client"));
        assertTrue(lib.handles.isEmpty());
    }

    @Test
    void aNativeFailureThrowsAndNeverDowngrades() {
        FakeLibrary lib = new FakeLibrary();
        lib.result = new AttestationLibrary.Result(-6, null);
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> new KeyGuardAttestor(lib).attest(keyGuardKey(), ENDPOINT, "client"));
        assertTrue(e.getMessage().contains("status -6"), e.getMessage());
        assertTrue(e.getMessage().contains("refusing"), e.getMessage());
    }

    @Test
    void aBlankTokenWithSuccessStatusThrows() {
        FakeLibrary lib = new FakeLibrary();
        lib.result = new AttestationLibrary.Result(0, "  ");
        assertThrows(MsiCredentialException.class,
                () -> new KeyGuardAttestor(lib).attest(keyGuardKey(), ENDPOINT, "client"));
    }

    @Test
    void aFailureWithATokenNeverPutsTheTokenInTheMessage() {
        FakeLibrary lib = new FakeLibrary();
        lib.result = new AttestationLibrary.Result(-14, JWT);
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> new KeyGuardAttestor(lib).attest(keyGuardKey(), ENDPOINT, "client"));
        assertFalse(e.getMessage().contains(JWT));
        assertFalse(lib.result.toString().contains(JWT));
    }

    @Test
    void aThrowingLibraryThrows() {
        FakeLibrary lib = new FakeLibrary();
        lib.failure = new IllegalStateException("enclave said no");
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> new KeyGuardAttestor(lib).attest(keyGuardKey(), ENDPOINT, "client"));
        assertTrue(e.getMessage().contains("enclave said no"));
    }

    @Test
    @org.junit.jupiter.api.condition.DisabledOnOs(org.junit.jupiter.api.condition.OS.WINDOWS)
    void theJnaBindingReportsAMissingLibraryInsteadOfFailing() {
        JnaAttestationLibrary lib = new JnaAttestationLibrary();
        String reason = lib.unavailableReason().orElseThrow();
        assertTrue(reason.startsWith("AttestationClientLib.dll could not be loaded"), reason);
        assertTrue(reason.contains("-D" + JnaAttestationLibrary.LIBRARY_PROPERTY), reason);
        assertThrows(IllegalStateException.class, () -> lib.attestKeyGuardKey(ENDPOINT, 1, "client"));
    }

    @Test
    void theLogInfoStructIsACallbackPointerAndAContextPointer() {
        assertEquals(16, new JnaAttestationLibrary.AttestationLogInfo().size());
    }

    @Test
    void theServiceLoaderInstanceSaysWhyOffWindows() {
        KeyGuardAttestor attestor = new KeyGuardAttestor();
        if (!System.getProperty("os.name").startsWith("Windows")) {
            assertFalse(attestor.isSupported());
            assertEquals("KeyGuard attestation exists only on Windows", attestor.unavailableReason());
        }
    }
}
