package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.ManagedKey;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KeyGuard attestation through Microsoft's native {@code AttestationClientLib.dll}, handed the CNG
 * key handle so the evidence is about the very key in the CSR. When the library is absent the
 * credential is unattested and {@link #unavailableReason()} says why; when it is present and fails,
 * {@link #attest} throws: an attested request is never silently downgraded. The token is never
 * logged (its length is).
 */
public final class KeyGuardAttestor implements KeyAttestor {
    private static final Logger LOG = LoggerFactory.getLogger(KeyGuardAttestor.class);

    private final Supplier<AttestationLibrary> library;
    private final boolean supported;

    /** For {@link java.util.ServiceLoader}: the real library, looked for on first use on Windows. */
    public KeyGuardAttestor() {
        this(new Supplier<>() {
            private AttestationLibrary lib;

            @Override
            public synchronized AttestationLibrary get() {
                if (lib == null) {
                    lib = new JnaAttestationLibrary();
                }
                return lib;
            }
        }, WinApi.isWindows());
    }

    KeyGuardAttestor(AttestationLibrary library) {
        this(() -> library, true);
    }

    private KeyGuardAttestor(Supplier<AttestationLibrary> library, boolean supported) {
        this.library = library;
        this.supported = supported;
    }

    @Override
    public String name() {
        return "keyguard-maa";
    }

    /** Windows only (the library may still be missing: see {@link #unavailableReason()}). */
    @Override
    public boolean isSupported() {
        return supported;
    }

    @Override
    public String unavailableReason() {
        if (!supported) {
            return "KeyGuard attestation exists only on Windows";
        }
        return library.get().unavailableReason().orElse(null);
    }

    @Override
    public Optional<String> attest(ManagedKey key, String attestationEndpoint, String clientId) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(attestationEndpoint, "attestationEndpoint");
        String reason = unavailableReason();
        if (reason != null) {
            LOG.info("credential will be unattested: {}", reason);
            return Optional.empty();
        }
        if (key.protection() != KeyProtection.KEYGUARD || !(key.privateKey() instanceof CngPrivateKey)) {
            LOG.info("credential will be unattested: key {} is {}, only KeyGuard keys can be attested", key.keyId(),
                    key.protection());
            return Optional.empty();
        }
        CngPrivateKey cng = (CngPrivateKey) key.privateKey();
        AttestationLibrary.Result result;
        try {
            result = library.get().attestKeyGuardKey(attestationEndpoint, cng.handle(), clientId);
        } catch (RuntimeException | LinkageError e) {
            throw new MsiCredentialException("KeyGuard attestation of key " + cng.keyName() + " failed: "
                    + e.getMessage() + "; refusing to send an unattested request instead", e);
        }
        if (result.status() != 0 || result.token() == null || result.token().isBlank()) {
            throw new MsiCredentialException("KeyGuard attestation of key " + cng.keyName() + " failed: status "
                    + result.status() + (result.token() == null || result.token().isBlank() ? ", no token" : "")
                    + "; refusing to send an unattested request instead");
        }
        LOG.info("key {} attested with {} ({} chars of token)", cng.keyName(), attestationEndpoint,
                result.token().length());
        return Optional.of(result.token());
    }
}
