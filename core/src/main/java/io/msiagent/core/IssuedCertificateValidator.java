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
     * it and let the back-off retry instead. Short-lived certificates (10 s is the shortest we
     * support, the emulator's minimum) need only half their lifetime left: notAfter is truncated to
     * the second, so a 10 s certificate never has 10 s left when it arrives.
     */
    static final Duration MIN_REMAINING = Duration.ofSeconds(10);
    /** Below this a certificate is unusable whatever its lifetime. */
    static final Duration ABSOLUTE_MIN_REMAINING = Duration.ofSeconds(2);

    private IssuedCertificateValidator() {
    }

    /** As {@link #check}; a refusal also names the call that returned the reply (its request ids), for IMDS support. */
    static X509Certificate validate(IssuedCredential issued, ManagedKey key, Instant now) {
        try {
            return check(issued, key, now);
        } catch (CertificateValidationException e) {
            if (issued.clientRequestId() == null) {
                throw e;
            }
            String message = e.getMessage().endsWith(".") ? e.getMessage().substring(0, e.getMessage().length() - 1) : e.getMessage();
            throw new CertificateValidationException(message + " (issuecredential HTTP 200, x-ms-client-request-id "
                    + issued.clientRequestId() + (issued.serverRequestId() != null ? ", x-ms-request-id " + issued.serverRequestId() : "")
                    + ").", e.getCause());
        }
    }

    private static X509Certificate check(IssuedCredential issued, ManagedKey key, Instant now) {
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
        if (!notAfter.isAfter(notBefore)) {
            throw new CertificateValidationException("IMDS issued " + who + " with an empty validity window (notBefore " + notBefore
                    + ", notAfter " + notAfter + "); it was not stored. This is an IMDS fault; retrying issues a new request.");
        }
        if (!notAfter.isAfter(now)) {
            throw new CertificateValidationException("IMDS issued " + who + " that is already expired (notAfter " + notAfter
                    + ", now " + now + "); it was not stored. Check this VM's clock.");
        }
        if (notBefore.isAfter(now.plus(CLOCK_SKEW))) {
            throw new CertificateValidationException("IMDS issued " + who + " that is not valid before " + notBefore + ", more than "
                    + CLOCK_SKEW.toMinutes() + " minutes after now (" + now + "); it was not stored. Check this VM's clock (NTP).");
        }
        Duration lifetime = Duration.between(notBefore, notAfter);
        Duration required = minimumRemaining(lifetime);
        // the life it has to serve: from now, or from notBefore when that is still ahead (within the skew)
        Duration remaining = Duration.between(notBefore.isAfter(now) ? notBefore : now, notAfter);
        if (remaining.compareTo(required) < 0) {
            String why = lifetime.compareTo(MIN_REMAINING) < 0
                    ? "its lifetime of " + lifetime.toMillis() + " ms is too short (" + MIN_REMAINING.toSeconds() + " s is the shortest supported)"
                    : "most of its " + lifetime.toSeconds() + " s lifetime had already passed (if IMDS issued it just now, this VM's clock is ahead)";
            throw new CertificateValidationException("IMDS issued " + who + " with only " + remaining.toMillis()
                    + " ms of validity left (notAfter " + notAfter + "); at least " + required.toMillis() + " ms are required and "
                    + why + ". It was not stored.");
        }
        return cert;
    }

    /** min(MIN_REMAINING, lifetime / 2), but never below ABSOLUTE_MIN_REMAINING. */
    static Duration minimumRemaining(Duration lifetime) {
        Duration half = lifetime.dividedBy(2);
        Duration floor = half.compareTo(MIN_REMAINING) < 0 ? half : MIN_REMAINING;
        return floor.compareTo(ABSOLUTE_MIN_REMAINING) < 0 ? ABSOLUTE_MIN_REMAINING : floor;
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
