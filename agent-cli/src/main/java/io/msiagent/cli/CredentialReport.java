package io.msiagent.cli;

import io.msiagent.core.CredentialState;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fields {@code acquire}, {@code status} and {@code renew} print. Every key is always present;
 * for MISSING/INVALID the credential fields (and {@code source}) are null and {@code reason} says why.
 */
final class CredentialReport {
    /**
     * Where the credential came from: {@code store} or {@code imds}. (The contract's third value,
     * {@code memory}, needs a long-lived cache; a one-shot command never has one.)
     */
    enum Source {
        STORE, IMDS;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private CredentialReport() {
    }

    static Map<String, Object> of(ManagedIdentityId identity, CredentialState state, Source source, MtlsCredential c,
            String storeLocation, String reason) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("identity", identity.toString());
        m.put("state", state.name());
        m.put("source", c == null || source == null ? null : source.label());
        m.put("clientId", c == null ? null : c.clientId());
        m.put("tenantId", c == null ? null : c.tenantId());
        m.put("subject", c == null ? null : c.certificate().getSubjectX500Principal().getName());
        m.put("issuer", c == null ? null : c.certificate().getIssuerX500Principal().getName());
        m.put("serialNumber", c == null ? null : c.serialNumberHex());
        m.put("x5tS256", c == null ? null : c.x5tS256());
        m.put("notBefore", c == null ? null : c.notBefore().toString());
        m.put("notAfter", c == null ? null : c.notAfter().toString());
        m.put("renewAt", c == null ? null : c.renewAt().toString());
        m.put("keyProtection", c == null ? null : c.keyProtection().name());
        m.put("attested", c == null ? null : c.attested());
        m.put("tokenEndpoint", c == null ? null : c.tokenEndpoint());
        m.put("store", storeLocation);
        m.put("reason", reason);
        return m;
    }
}
