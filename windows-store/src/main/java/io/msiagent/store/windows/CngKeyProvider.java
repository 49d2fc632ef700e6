package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.spi.KeyProvider;
import io.msiagent.core.spi.ManagedKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Non-exportable RSA-2048 keys in CNG, strongest tier first: KeyGuard (software KSP +
 * {@code NCRYPT_USE_VIRTUAL_ISOLATION_FLAG}, verified through the key's {@code Virtual Iso}
 * property; never the "prefer VBS" flag, which silently yields a software key), then the TPM
 * (Microsoft Platform Crypto Provider), then the software KSP. Each generation gets a fresh key
 * name ({@code msi-agent-<uuid>}), so an old certificate can never point at new key material.
 *
 * <p>KeyGuard keys are per-boot by default ({@link KeyGuardPersistence#PER_BOOT}): the strongest
 * protection, matching MSAL.NET; the store finds such keys dead after a reboot (sign probe),
 * purges their entries and the engine re-acquires. {@link KeyGuardPersistence#CROSS_BOOT} avoids
 * that re-issuance.
 */
public final class CngKeyProvider implements KeyProvider {
    private static final Logger LOG = LoggerFactory.getLogger(CngKeyProvider.class);
    static final String KEY_NAME_PREFIX = "msi-agent-";
    private static final int KEY_BITS = 2048;

    /** Whether a KeyGuard key survives a reboot. */
    public enum KeyGuardPersistence { PER_BOOT, CROSS_BOOT }

    private final Supplier<WindowsCrypto> crypto;
    private final boolean supported;
    private final KeyGuardPersistence keyGuardPersistence;
    private volatile KeyProtection bestAvailable;

    /** For {@link java.util.ServiceLoader}: the real Windows calls, loaded only when first used on Windows. */
    public CngKeyProvider() {
        this(builder());
    }

    private CngKeyProvider(Builder b) {
        this.crypto = b.crypto;
        this.supported = b.supported;
        this.keyGuardPersistence = b.keyGuardPersistence;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "windows-cng";
    }

    /** Windows only; decided from {@code os.name} without loading any native library. */
    @Override
    public boolean isSupported() {
        return supported;
    }

    public KeyGuardPersistence keyGuardPersistence() {
        return keyGuardPersistence;
    }

    /**
     * KeyGuard when a probe key can be created VBS-isolated (and is deleted again), TPM when the
     * Platform Crypto Provider opens, else SOFTWARE. Cached after the first call.
     */
    @Override
    public KeyProtection bestAvailableProtection() {
        requireSupported();
        KeyProtection best = bestAvailable;
        if (best == null) {
            best = probeBest(KeyProtection.KEYGUARD, new ArrayList<>());
            bestAvailable = best;
        }
        return best;
    }

    @Override
    public ManagedKey create(KeyProtection minimum) {
        Objects.requireNonNull(minimum, "minimum");
        requireSupported();
        List<String> reasons = new ArrayList<>();
        for (Tier tier : Tier.values()) {
            if (!tier.protection.isAtLeast(minimum)) {
                break;
            }
            CngManagedKey key = tryCreate(tier, reasons);
            if (key != null) {
                LOG.info("created CNG key {} with protection {}{}", key.keyId(), key.protection(),
                        ((CngPrivateKey) key.privateKey()).canSignRsaPss() ? "" : " (no RSA-PSS: TLS 1.2 only)");
                return key;
            }
        }
        if (minimum == KeyProtection.SOFTWARE) {
            throw new MsiCredentialException("no CNG key could be created: " + String.join("; ", reasons));
        }
        KeyProtection best = probeBest(lowerThan(minimum), reasons);
        throw new MsiCredentialException("key protection " + minimum + " is required, but the strongest available"
                + " on this machine is " + best + " (" + String.join("; ", reasons) + ")");
    }

    private void requireSupported() {
        if (!supported) {
            throw new MsiCredentialException("CNG keys exist only on Windows");
        }
    }

    private static KeyProtection lowerThan(KeyProtection p) {
        return KeyProtection.values()[p.ordinal() - 1];
    }

    /** The strongest tier at or below {@code from} that is available, without keeping anything. */
    private KeyProtection probeBest(KeyProtection from, List<String> reasons) {
        for (Tier tier : Tier.values()) {
            if (!from.isAtLeast(tier.protection)) {
                continue;
            }
            if (tier == Tier.SOFTWARE) {
                return KeyProtection.SOFTWARE;
            }
            if (tier == Tier.TPM) {
                if (providerOpens(tier, reasons)) {
                    return KeyProtection.TPM;
                }
                continue;
            }
            CngManagedKey probe = tryCreate(tier, reasons);
            if (probe != null) {
                probe.discard();
                return tier.protection;
            }
        }
        return KeyProtection.SOFTWARE;
    }

    /** What creating one key of a tier showed: whether it worked, whether the key signed RSA-PSS, or why it failed. */
    record TierProbe(boolean available, boolean signsPss, String reason) {
    }

    /**
     * Creates one key in {@code protection}'s tier exactly as {@link #create} would (same flags,
     * checks and PSS probe) and deletes it again, for diagnostics.
     */
    TierProbe probeTier(KeyProtection protection) {
        requireSupported();
        for (Tier tier : Tier.values()) {
            if (tier.protection == protection) {
                List<String> reasons = new ArrayList<>();
                CngManagedKey key = tryCreate(tier, reasons);
                if (key == null) {
                    return new TierProbe(false, false, String.join("; ", reasons));
                }
                boolean pss = ((CngPrivateKey) key.privateKey()).canSignRsaPss();
                key.discard();
                return new TierProbe(true, pss, null);
            }
        }
        throw new IllegalArgumentException("no CNG tier for " + protection);
    }

    private boolean providerOpens(Tier tier, List<String> reasons) {
        WindowsCrypto c = crypto.get();
        try {
            c.freeObject(c.openProvider(tier.providerName));
            return true;
        } catch (WindowsCryptoException e) {
            reasons.add(tier.protection + ": " + tier.providerName + " unavailable: " + e.getMessage());
            return false;
        }
    }

    /** One tier: create, set properties, finalize, verify, probe. Null (with a reason) when the tier is unavailable. */
    private CngManagedKey tryCreate(Tier tier, List<String> reasons) {
        WindowsCrypto c = crypto.get();
        long provider;
        try {
            provider = c.openProvider(tier.providerName);
        } catch (WindowsCryptoException e) {
            unavailable(tier, reasons, tier.providerName + " unavailable: " + e.getMessage());
            return null;
        }
        try {
            String keyName = KEY_NAME_PREFIX + UUID.randomUUID();
            long raw;
            try {
                raw = c.createPersistedKey(provider, WinApi.NCRYPT_RSA_ALGORITHM, keyName, creationFlags(tier));
            } catch (WindowsCryptoException e) {
                unavailable(tier, reasons, classify(tier, e));
                return null;
            }
            CngKeyHandle handle = new CngKeyHandle(c, raw);
            boolean finalized = false;
            try {
                c.setProperty(raw, WinApi.NCRYPT_LENGTH_PROPERTY, WinApi.dword(KEY_BITS), 0);
                c.setProperty(raw, WinApi.NCRYPT_EXPORT_POLICY_PROPERTY, WinApi.dword(0), WinApi.NCRYPT_PERSIST_FLAG);
                c.setProperty(raw, WinApi.NCRYPT_KEY_USAGE_PROPERTY, WinApi.dword(keyUsage(tier)),
                        WinApi.NCRYPT_PERSIST_FLAG);
                c.finalizeKey(raw);
                finalized = true;
                if (tier == Tier.KEYGUARD && !CngKeys.isVirtualIsolated(c, raw)) {
                    throw new TierRefused("key created but its \"Virtual Iso\" property is not set: not VBS-isolated");
                }
                int exportPolicy = WinApi.readDword(c.getProperty(raw, WinApi.NCRYPT_EXPORT_POLICY_PROPERTY));
                if (exportPolicy != 0) {
                    throw new TierRefused("export policy reads " + exportPolicy + ", not 0");
                }
                RSAPublicKey pub = CngKeys.publicKey(c, raw);
                if (pub.getModulus().bitLength() != KEY_BITS) {
                    throw new TierRefused("key has " + pub.getModulus().bitLength() + " bits, not " + KEY_BITS);
                }
                CngKeys.probePkcs1(c, raw);
                boolean pss = CngKeys.probePss(c, raw);
                CngPrivateKey priv = new CngPrivateKey(c, handle, keyName, tier.providerName, tier.protection, pss,
                        pub.getModulus());
                return new CngManagedKey(pub, priv);
            } catch (WindowsCryptoException | TierRefused | IllegalArgumentException e) {
                unavailable(tier, reasons, finalized ? "created key unusable: " + e.getMessage() : classify(tier, e));
                release(handle, finalized, keyName);
                return null;
            }
        } finally {
            c.freeObject(provider);
        }
    }

    private void release(CngKeyHandle handle, boolean persisted, String keyName) {
        if (!persisted) {
            handle.close();
            return;
        }
        try {
            handle.deleteKey();
        } catch (RuntimeException e) {
            handle.close();
            LOG.warn("could not delete refused CNG key {}: {}", keyName, e.getMessage());
        }
    }

    private static void unavailable(Tier tier, List<String> reasons, String why) {
        String reason = tier.protection + ": " + why;
        reasons.add(reason);
        LOG.info("key tier unavailable, falling through: {}", reason);
    }

    private static String classify(Tier tier, Exception e) {
        if (tier == Tier.KEYGUARD && e instanceof WindowsCryptoException
                && WinApi.isVbsUnavailable(((WindowsCryptoException) e).status())) {
            return "VBS key isolation unavailable: " + e.getMessage();
        }
        return e.getMessage();
    }

    private int creationFlags(Tier tier) {
        if (tier != Tier.KEYGUARD) {
            return 0;
        }
        return WinApi.NCRYPT_USE_VIRTUAL_ISOLATION_FLAG
                | (keyGuardPersistence == KeyGuardPersistence.PER_BOOT ? WinApi.NCRYPT_USE_PER_BOOT_KEY_FLAG : 0);
    }

    /** KeyGuard keys get MSAL.NET's usage (all usages: what the attestation library has been used with); others sign only. */
    private static int keyUsage(Tier tier) {
        return tier == Tier.KEYGUARD ? WinApi.NCRYPT_ALLOW_ALL_USAGES : WinApi.NCRYPT_ALLOW_SIGNING_FLAG;
    }

    /** Strongest first. */
    enum Tier {
        KEYGUARD(KeyProtection.KEYGUARD, WinApi.MS_KEY_STORAGE_PROVIDER),
        TPM(KeyProtection.TPM, WinApi.MS_PLATFORM_CRYPTO_PROVIDER),
        SOFTWARE(KeyProtection.SOFTWARE, WinApi.MS_KEY_STORAGE_PROVIDER);

        final KeyProtection protection;
        final String providerName;

        Tier(KeyProtection protection, String providerName) {
            this.protection = protection;
            this.providerName = providerName;
        }
    }

    private static final class TierRefused extends Exception {
        private static final long serialVersionUID = 1L;

        TierRefused(String message) {
            super(message);
        }
    }

    public static final class Builder {
        private Supplier<WindowsCrypto> crypto = () -> JnaWindowsCrypto.shared();
        private boolean supported = WinApi.isWindows();
        private KeyGuardPersistence keyGuardPersistence = KeyGuardPersistence.PER_BOOT;

        private Builder() {
        }

        /** The Windows calls (tests pass a fake); default: JNA, loaded on first use. */
        public Builder crypto(WindowsCrypto crypto) {
            Objects.requireNonNull(crypto, "crypto");
            this.crypto = () -> crypto;
            this.supported = true;
            return this;
        }

        public Builder keyGuardPersistence(KeyGuardPersistence persistence) {
            this.keyGuardPersistence = Objects.requireNonNull(persistence, "persistence");
            return this;
        }

        public CngKeyProvider build() {
            return new CngKeyProvider(this);
        }
    }
}
