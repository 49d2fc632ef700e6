package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MtlsCredential;
import java.util.List;
import java.util.Optional;

/**
 * The Windows key-protection checks {@code msi-agent doctor} reports: whether VBS key isolation
 * (KeyGuard) works here, whether there is a TPM and whether its keys sign RSA-PSS with
 * salt = hash length (else they are TLS 1.2 only), and whether the stored credential's key still
 * signs (a per-boot KeyGuard key dies at reboot). The first two create one probe key each, exactly
 * as key creation would, and delete it again. Everything goes through {@link WindowsCrypto}, so
 * the logic is tested with the fake on Linux.
 */
public final class KeyProtectionDiagnostics {
    /** How a finding reads in {@code doctor}: one line each. */
    public enum Result { PASS, WARN, FAIL }

    /** One check: its name (lower-case, dashes), result and a detail sentence (never a secret). */
    public record Finding(String check, Result result, String detail) {
    }

    private final CngKeyProvider keys;

    KeyProtectionDiagnostics(CngKeyProvider keys) {
        this.keys = keys;
    }

    /** The checks for this machine; empty off Windows (decided from {@code os.name}, no native code loaded). */
    public static Optional<KeyProtectionDiagnostics> forThisMachine() {
        CngKeyProvider provider = new CngKeyProvider();
        return provider.isSupported() ? Optional.of(new KeyProtectionDiagnostics(provider)) : Optional.empty();
    }

    /** Every finding, in report order; {@code stored} may be null (nothing stored, or unreadable). */
    public List<Finding> findings(MtlsCredential stored) {
        return List.of(keyGuard(), tpm(), keyAlive(stored));
    }

    Finding keyGuard() {
        CngKeyProvider.TierProbe probe = keys.probeTier(KeyProtection.KEYGUARD);
        if (probe.available()) {
            return new Finding("keyguard", Result.PASS, "VBS key isolation works: a probe key was created VBS-isolated"
                    + " (\"Virtual Iso\" set) and deleted; new keys are KEYGUARD, " + keys.keyGuardPersistence()
                    .name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        }
        return new Finding("keyguard", Result.WARN, "VBS key isolation unavailable (" + probe.reason()
                + "); keys fall back to the TPM or the software KSP and cannot be attested");
    }

    Finding tpm() {
        CngKeyProvider.TierProbe probe = keys.probeTier(KeyProtection.TPM);
        if (!probe.available()) {
            return new Finding("tpm", Result.WARN, "no usable TPM (" + probe.reason() + ")");
        }
        if (probe.signsPss()) {
            return new Finding("tpm", Result.PASS, "TPM present; its keys sign RSA-PSS with salt = hash length"
                    + " (TLS 1.3 client authentication works)");
        }
        return new Finding("tpm", Result.WARN, "TPM present, but its keys cannot sign RSA-PSS with salt = hash length:"
                + " a credential with a TPM key is TLS 1.2 only (TLS 1.3 requires RSA-PSS)");
    }

    Finding keyAlive(MtlsCredential stored) {
        if (stored == null) {
            return new Finding("key-alive", Result.WARN, "skipped: no usable stored credential to probe");
        }
        if (!(stored.privateKey() instanceof CngPrivateKey)) {
            return new Finding("key-alive", Result.WARN, "skipped: the stored key is not a CNG key");
        }
        CngPrivateKey key = (CngPrivateKey) stored.privateKey();
        String which = "key " + key.keyName() + " (" + key.protection() + ")";
        try {
            CngKeys.probePkcs1(key.crypto(), key.handle());
        } catch (WindowsCryptoException | IllegalStateException e) {
            return new Finding("key-alive", Result.FAIL, which + " no longer signs: " + e.getMessage()
                    + (key.protection() == KeyProtection.KEYGUARD ? " (a per-boot KeyGuard key after a reboot)" : "")
                    + "; the next acquire removes the entry and gets a new credential");
        }
        return new Finding("key-alive", Result.PASS, which + " signs (sign probe)"
                + (key.protection() == KeyProtection.KEYGUARD ? ": alive in this boot (per-boot KeyGuard keys die at reboot)" : ""));
    }
}
