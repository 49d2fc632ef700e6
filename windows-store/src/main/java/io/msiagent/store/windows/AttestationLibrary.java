package io.msiagent.store.windows;

import java.util.Optional;

/**
 * The boundary over Microsoft's native KeyGuard attestation library ({@code AttestationClientLib.dll},
 * NuGet {@code Microsoft.Azure.Security.KeyGuardAttestation}): InitAttestationLib,
 * AttestKeyGuardImportKey, FreeAttestationToken, UninitAttestationLib.
 */
interface AttestationLibrary {
    /** What one attestation returned: the library's status (0 = success) and the JWT, if any. */
    record Result(int status, String token) {
        @Override
        public String toString() {
            return "Result[status=" + status + ", token=" + (token == null ? "none" : "<" + token.length() + " chars>") + "]";
        }
    }

    /** Why the library cannot be used here (not installed, wrong architecture), or empty when it loads. */
    Optional<String> unavailableReason();

    /** Attests the CNG key behind {@code keyHandle} with MAA at {@code endpoint}. */
    Result attestKeyGuardKey(String endpoint, long keyHandle, String clientId);
}
