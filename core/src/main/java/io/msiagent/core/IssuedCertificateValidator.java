package io.msiagent.core;

import io.msiagent.core.spi.ManagedKey;
import io.msiagent.imds.IssuedCredential;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/**
 * Invariant 1: nothing IMDS returns is stored or published unless the certificate is for our key,
 * inside its validity window (with clock-skew tolerance), long-lived enough to be worth using, and
 * the metadata is complete.
 */
final class IssuedCertificateValidator {
    /** Clocks of IMDS and this VM may disagree by this much. */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    /**
     * A certificate with less life left than this would be renewed at once, over and over: refuse
     * it and let the back-off retry instead. Below the shortest lifetime the agent supports (10 s, the
     * emulator's minimum), whose certificates arrive with a little less than 10 s left.
     */
    static final Duration MIN_REMAINING = Duration.ofSeconds(8);

    private IssuedCertificateValidator() {
    }

    static X509Certificate validate(IssuedCredential issued, ManagedKey key, Instant now) {
        requireText(issued.clientId(), "client_id");
        requireText(issued.tenantId(), "tenant_id");
        requireText(issued.mtlsAuthenticationEndpoint(), "mtls_authentication_endpoint");
        requireEndpoint(issued.mtlsAuthenticationEndpoint());
        X509Certificate cert = parse(issued.certificateDer());
        String who = "certificate serial " + cert.getSerialNumber().toString(16) + " (x5t#S256 " + MtlsCredential.x5tS256(cert) + ")";
        if (!cert.getPublicKey().equals(key.publicKey()) && !KeyMatch.matches(cert.getPublicKey(), key.privateKey())) {
            throw new CertificateValidationException("IMDS issued " + who + " for a different public key than the one in our CSR (key "
                    + key.keyId() + "); it was not stored. This is an IMDS fault; retrying issues a new request.");
        }
        Instant notBefore = cert.getNotBefore().toInstant();
        Instant notAfter = cert.getNotAfter().toInstant();
        if (!notAfter.isAfter(now)) {
            throw new CertificateValidationException("IMDS issued " + who + " that is already expired (notAfter " + notAfter
                    + ", now " + now + "); it was not stored. Check this VM's clock.");
        }
        if (notBefore.isAfter(now.plus(CLOCK_SKEW))) {
            throw new CertificateValidationException("IMDS issued " + who + " that is not valid before " + notBefore + ", more than "
                    + CLOCK_SKEW.toMinutes() + " minutes after now (" + now + "); it was not stored. Check this VM's clock (NTP).");
        }
        if (Duration.between(now, notAfter).compareTo(MIN_REMAINING) < 0) {
            throw new CertificateValidationException("IMDS issued " + who + " with only " + Duration.between(now, notAfter).toMillis()
                    + " ms of validity left (notAfter " + notAfter + "); at least " + MIN_REMAINING.toSeconds()
                    + " s are required. It was not stored; check this VM's clock.");
        }
        return cert;
    }

    private static X509Certificate parse(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | ClassCastException e) {
            throw new CertificateValidationException("IMDS returned a certificate that is not a DER X.509 certificate ("
                    + der.length + " bytes): " + e.getMessage() + "; it was not stored.", e);
        }
    }

    private static void requireText(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new CertificateValidationException("IMDS issuecredential reply lacks '" + field + "'; the certificate was not stored.");
        }
    }

    private static void requireEndpoint(String endpoint) {
        try {
            URI uri = new URI(endpoint);
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equalsIgnoreCase("https") || scheme.equalsIgnoreCase("http")) || uri.getHost() == null) {
                throw new CertificateValidationException("IMDS issuecredential reply has mtls_authentication_endpoint '" + endpoint
                        + "', which is not an http(s) URL with a host; the certificate was not stored.");
            }
        } catch (URISyntaxException e) {
            throw new CertificateValidationException("IMDS issuecredential reply has an unparseable mtls_authentication_endpoint '"
                    + endpoint + "': " + e.getMessage() + "; the certificate was not stored.", e);
        }
    }
}
