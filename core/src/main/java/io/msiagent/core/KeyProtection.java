package io.msiagent.core;

/** Where a credential's private key lives, weakest first. */
public enum KeyProtection {
    /** A software key: in process memory and, when persisted, in a 0600 file or the software KSP. */
    SOFTWARE,
    /** A TPM-backed CNG key (Microsoft Platform Crypto Provider): non-exportable. */
    TPM,
    /** A VBS-isolated (Credential Guard / KeyGuard) CNG key: non-exportable, attestable. */
    KEYGUARD;

    public boolean isAtLeast(KeyProtection minimum) {
        return compareTo(minimum) >= 0;
    }
}
