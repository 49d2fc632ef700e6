package io.msiagent.cli.emulator;

import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Which certificates this emulator issued, for whom, and whether the request was attested. */
final class IssuedCertificates {
    record Issued(EmulatedIdentity identity, boolean attested) {
    }

    private final Map<String, Issued> byThumbprint = new ConcurrentHashMap<>();

    void add(X509Certificate certificate, EmulatedIdentity identity, boolean attested) {
        byThumbprint.put(EmulatorCa.thumbprint(certificate), new Issued(identity, attested));
    }

    /** What we know about the certificate with this x5t#S256, or null (e.g. issued before a restart). */
    Issued find(String thumbprint) {
        return byThumbprint.get(thumbprint);
    }
}
