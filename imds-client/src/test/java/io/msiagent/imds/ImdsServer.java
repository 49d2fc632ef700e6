package io.msiagent.imds;

import java.io.IOException;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HeldCertificate;

/** A MockWebServer on 127.0.0.1 standing in for IMDS, with canned replies. */
final class ImdsServer implements AutoCloseable {
    static final String METADATA_JSON = """
            {"cuId": {"vmId": "vm-1234"},
             "clientId": "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3",
             "tenantId": "751a212b-4003-416e-b600-e1f48e40db9f",
             "attestationEndpoint": "https://fake_attestation_endpoint"}""";

    final MockWebServer server = new MockWebServer();

    ImdsServer() throws IOException {
        server.start(InetAddress.getByName("127.0.0.1"), 0);
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getPort();
    }

    void enqueue(MockResponse response) {
        server.enqueue(response);
    }

    void enqueue(int status, int times) {
        for (int i = 0; i < times; i++) {
            server.enqueue(status(status).build());
        }
    }

    RecordedRequest take() throws InterruptedException {
        RecordedRequest r = server.takeRequest(5, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no request arrived");
        }
        return r;
    }

    int requestCount() {
        return server.getRequestCount();
    }

    static MockResponse.Builder status(int status) {
        return new MockResponse.Builder().code(status).addHeader("Server", "IMDS/150.870.65.1854")
                .addHeader("x-ms-request-id", "srv-" + status);
    }

    static MockResponse metadata(String json) {
        return status(200).addHeader("Content-Type", "application/json").body(json).build();
    }

    static MockResponse metadataOk() {
        return metadata(METADATA_JSON);
    }

    static String credentialJson(String certificateBase64) {
        return """
                {"client_id": "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3",
                 "tenant_id": "751a212b-4003-416e-b600-e1f48e40db9f",
                 "certificate": "%s",
                 "identity_type": "SystemAssigned",
                 "mtls_authentication_endpoint": "https://eastus2.mtlsauth.microsoft.com/"}"""
                .formatted(certificateBase64);
    }

    /** A real DER certificate (throwaway), the kind IMDS issues. */
    static byte[] someCertificateDer() {
        try {
            return new HeldCertificate.Builder().commonName("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3").rsa2048().build()
                    .certificate().getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
