package io.msiagent.store.windows;

import java.security.Provider;
import java.security.Security;
import java.util.List;
import java.util.Map;

/**
 * "MsiAgentCng": a JCA provider with sign-only {@code Signature} services for {@link CngPrivateKey}
 * ({@code SHA256withRSA}, {@code SHA384withRSA}, {@code SHA512withRSA}, {@code RSASSA-PSS}). Its
 * services claim only {@link CngPrivateKey} ({@code SupportedKeyClasses}), so with the provider
 * installed, delayed provider selection ({@code Signature.getInstance(alg)}, as JSSE does) picks it
 * for our keys and never for anything else.
 */
public final class MsiAgentCngProvider extends Provider {
    private static final long serialVersionUID = 1L;

    public static final String NAME = "MsiAgentCng";

    private static final MsiAgentCngProvider INSTANCE = new MsiAgentCngProvider();

    private MsiAgentCngProvider() {
        super(NAME, "1.0", "msi-agent: RSA signatures with non-exportable CNG keys (NCryptSignHash)");
        Map<String, String> attrs = Map.of("SupportedKeyClasses", CngPrivateKey.class.getName());
        putService(new Service(this, "Signature", "SHA256withRSA", CngSignature.Sha256.class.getName(),
                List.of("SHA256WithRSA"), attrs));
        putService(new Service(this, "Signature", "SHA384withRSA", CngSignature.Sha384.class.getName(),
                List.of("SHA384WithRSA"), attrs));
        putService(new Service(this, "Signature", "SHA512withRSA", CngSignature.Sha512.class.getName(),
                List.of("SHA512WithRSA"), attrs));
        putService(new Service(this, "Signature", "RSASSA-PSS", CngSignature.Pss.class.getName(),
                List.of("PSS"), attrs));
    }

    public static MsiAgentCngProvider instance() {
        return INSTANCE;
    }

    /**
     * Adds the provider (last in preference order) so that JSSE, which asks
     * {@code Signature.getInstance(alg)} without a provider, can sign with CNG keys. Idempotent.
     */
    public static synchronized MsiAgentCngProvider install() {
        if (Security.getProvider(NAME) == null) {
            Security.addProvider(INSTANCE);
        }
        return INSTANCE;
    }
}
