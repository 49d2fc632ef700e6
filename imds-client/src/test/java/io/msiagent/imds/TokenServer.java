package io.msiagent.imds;

import java.io.IOException;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;

/**
 * A TLS token endpoint on 127.0.0.1 that requires a client certificate, with a throwaway CA that
 * signs the server certificate and the client certificates.
 */
final class TokenServer implements AutoCloseable {
    static final String TENANT = "751a212b-4003-416e-b600-e1f48e40db9f";

    final HeldCertificate ca = new HeldCertificate.Builder().certificateAuthority(0).commonName("test CA").build();
    final HeldCertificate clientCert = new HeldCertificate.Builder().signedBy(ca)
            .commonName("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3").build();
    final MockWebServer server = new MockWebServer();

    TokenServer() throws IOException {
        HeldCertificate serverCert = new HeldCertificate.Builder().signedBy(ca).commonName("token endpoint")
                .addSubjectAlternativeName("127.0.0.1").build();
        HandshakeCertificates serverTls = new HandshakeCertificates.Builder().heldCertificate(serverCert)
                .addTrustedCertificate(ca.certificate()).build();
        server.useHttps(serverTls.sslSocketFactory());
        server.requireClientAuth();
        server.start(InetAddress.getByName("127.0.0.1"), 0);
    }

    String tokenEndpoint() {
        return "https://127.0.0.1:" + server.getPort() + "/" + TENANT + "/oauth2/v2.0/token";
    }

    /** TLS for the client side: trusts our CA and presents {@code clientCert} (or nothing). */
    HandshakeCertificates clientTls(boolean withClientCertificate) {
        HandshakeCertificates.Builder b = new HandshakeCertificates.Builder().addTrustedCertificate(ca.certificate());
        if (withClientCertificate) {
            b.heldCertificate(clientCert);
        }
        return b.build();
    }

    void enqueue(MockResponse response) {
        server.enqueue(response);
    }

    RecordedRequest take() throws InterruptedException {
        RecordedRequest r = server.takeRequest(5, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no request arrived");
        }
        return r;
    }

    static MockResponse json(int status, String body) {
        return new MockResponse.Builder().code(status).addHeader("Content-Type", "application/json")
                .addHeader("x-ms-request-id", "ests-" + status).body(body).build();
    }

    /** base64url(SHA-256(DER)), computed here independently of the client. */
    static String x5tS256(Certificate cert) throws Exception {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    }

    @Override
    public void close() {
        server.close();
    }
}
