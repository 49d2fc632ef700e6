package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msiagent.core.testing.TestCredentials;
import io.msiagent.imds.AccessToken;
import io.msiagent.imds.ImdsClient;
import io.msiagent.imds.TokenType;
import java.net.InetAddress;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The engine through the real imds-client: IMDS and the token endpoint are MockWebServers on 127.0.0.1. */
class RealImdsClientTest {
    private static final String METADATA = """
            {"cuId": {"vmId": "vm-1234", "vmssId": "vmss-9"},
             "clientId": "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3",
             "tenantId": "751a212b-4003-416e-b600-e1f48e40db9f",
             "attestationEndpoint": "https://fake_attestation_endpoint"}""";

    private final TestCredentials ca = TestCredentials.newCa();
    private final MockWebServer imds = new MockWebServer();
    private final MockWebServer tokenServer = new MockWebServer();
    private final HeldCertificate tokenRoot = new HeldCertificate.Builder().certificateAuthority(0).build();
    private final List<RecordedRequest> imdsRequests = new CopyOnWriteArrayList<>();
    private final List<PublicKey> issuedKeys = new CopyOnWriteArrayList<>();
    private final AtomicInteger imdsFailuresLeft = new AtomicInteger();
    private final AtomicInteger invalidClientsLeft = new AtomicInteger();
    private final AtomicInteger tokensIssued = new AtomicInteger();
    private MsiCredentialCache cache;

    @BeforeEach
    void start() throws Exception {
        imds.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                imdsRequests.add(request);
                return answerImds(request);
            }
        });
        imds.start(InetAddress.getByName("127.0.0.1"), 0);

        HeldCertificate serverCert = new HeldCertificate.Builder().signedBy(tokenRoot).addSubjectAlternativeName("127.0.0.1").build();
        tokenServer.useHttps(new HandshakeCertificates.Builder().heldCertificate(serverCert, tokenRoot.certificate())
                .addTrustedCertificate(ca.caCertificate()).build().sslSocketFactory());
        tokenServer.requireClientAuth();
        tokenServer.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if (invalidClientsLeft.getAndDecrement() > 0) {
                    return json(401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS1000613: bad\",\"error_codes\":[1000613]}");
                }
                return json(200, "{\"token_type\":\"bearer\",\"expires_in\":3599,\"access_token\":\"at-" + tokensIssued.incrementAndGet() + "\"}");
            }
        });
        tokenServer.start(InetAddress.getByName("127.0.0.1"), 0);
    }

    @AfterEach
    void stop() {
        if (cache != null) {
            cache.close();
        }
        imds.close();
        tokenServer.close();
    }

    private MockResponse answerImds(RecordedRequest request) {
        String path = request.getUrl().encodedPath();
        if (imdsFailuresLeft.getAndDecrement() > 0) {
            return imdsReply(500, "{\"error\":\"server_error\"}");
        }
        if (path.equals("/metadata/identity/getplatformmetadata")) {
            return imdsReply(200, METADATA);
        }
        if (path.equals("/metadata/identity/issuecredential")) {
            try {
                JsonNode body = new ObjectMapper().readTree(request.getBody().utf8());
                JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(
                        new PKCS10CertificationRequest(Base64.getDecoder().decode(body.get("csr").asText())));
                PublicKey key = csr.getPublicKey();
                issuedKeys.add(key);
                Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
                X509Certificate cert = ca.issue(key, now.minusSeconds(60), now.plus(java.time.Duration.ofHours(8)));
                return imdsReply(200, """
                        {"client_id": "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3",
                         "tenant_id": "751a212b-4003-416e-b600-e1f48e40db9f",
                         "certificate": "%s",
                         "identity_type": "SystemAssigned",
                         "mtls_authentication_endpoint": "https://127.0.0.1:%d/"}"""
                        .formatted(Base64.getEncoder().encodeToString(cert.getEncoded()), tokenServer.getPort()));
            } catch (Exception e) {
                return imdsReply(400, "{\"error\":\"invalid_request\"}");
            }
        }
        return imdsReply(404, "{}");
    }

    private static MockResponse imdsReply(int status, String body) {
        return new MockResponse.Builder().code(status).addHeader("Server", "IMDS/150.870.65.1854")
                .addHeader("x-ms-request-id", "imds-" + status).addHeader("Content-Type", "application/json").body(body).build();
    }

    private static MockResponse json(int status, String body) {
        return new MockResponse.Builder().code(status).addHeader("Content-Type", "application/json")
                .addHeader("x-ms-request-id", "ests-" + status).body(body).build();
    }

    private MsiCredentialCache build(ManagedIdentityId identity) {
        ImdsClient client = ImdsClient.builder().endpoint("http://127.0.0.1:" + imds.getPort()).sleeper(d -> { }).build();
        cache = MsiCredentialCache.builder().identity(identity).imdsClient(client).persistence(false).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).trustedCertificates(List.of(tokenRoot.certificate())).build();
        return cache;
    }

    @Test
    void coldAcquisitionSpeaksTheWireProtocol() throws Exception {
        MtlsCredential c = build(ManagedIdentityId.clientId("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3")).get();

        assertEquals(2, imdsRequests.size());
        RecordedRequest metadata = imdsRequests.get(0);
        assertEquals("GET", metadata.getMethod());
        assertEquals("cred-api-version=2.0&client_id=d3adb33f-c0de-ed0c-c0de-deadb33fc0d3", metadata.getUrl().encodedQuery());
        RecordedRequest issue = imdsRequests.get(1);
        assertEquals("POST", issue.getMethod());
        JsonNode body = new ObjectMapper().readTree(issue.getBody().utf8());
        assertTrue(!body.has("attestation_token"), "no attestation token without an attestor");
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(Base64.getDecoder().decode(body.get("csr").asText()));
        assertEquals("DC=751a212b-4003-416e-b600-e1f48e40db9f,CN=d3adb33f-c0de-ed0c-c0de-deadb33fc0d3", csr.getSubject().toString());
        assertEquals("{\"vmId\":\"vm-1234\",\"vmssId\":\"vmss-9\"}",
                csr.getAttributes(new org.bouncycastle.asn1.ASN1ObjectIdentifier(CsrBuilder.CU_ID_OID))[0].getAttrValues().getObjectAt(0).toString());

        assertEquals("https://127.0.0.1:" + tokenServer.getPort() + "/751a212b-4003-416e-b600-e1f48e40db9f/oauth2/v2.0/token", c.tokenEndpoint());
        assertEquals(issuedKeys.get(0), c.certificate().getPublicKey());
    }

    @Test
    void imdsFailureIsAnIssuanceExceptionWithStatusAndRequestIds() {
        imdsFailuresLeft.set(100);
        IssuanceException e = assertThrows(IssuanceException.class, () -> build(ManagedIdentityId.systemAssigned()).get());
        assertEquals(500, e.imdsException().status());
        assertTrue(e.getMessage().contains("HTTP 500") && e.getMessage().contains("imds-500")
                && e.getMessage().contains(e.imdsException().clientRequestId()), e.getMessage());
    }

    @Test
    void tokenOverRealMutualTlsIsBoundToTheCurrentCertificateAndCached() throws Exception {
        build(ManagedIdentityId.systemAssigned());
        AccessToken token = cache.acquireToken("https://management.azure.com");
        assertEquals(TokenType.BEARER, token.tokenType());
        assertEquals(cache.get().x5tS256(), token.x5tS256(), "bound to the certificate the handshake presented");
        assertEquals(token, cache.acquireToken("https://management.azure.com"));
        assertEquals(1, tokenServer.getRequestCount());
        RecordedRequest r = tokenServer.takeRequest(5, TimeUnit.SECONDS);
        String form = r.getBody().utf8();
        assertTrue(form.contains("client_id=d3adb33f-c0de-ed0c-c0de-deadb33fc0d3") && form.contains("token_type=bearer")
                && form.contains("grant_type=client_credentials") && form.contains("scope=https%3A%2F%2Fmanagement.azure.com%2F.default"), form);
        assertEquals(cache.get().certificate(), r.getHandshake().peerCertificates().get(0), "the server saw our certificate");
    }

    @Test
    void invalidClientOverRealTlsRenewsOnceAndRetries() {
        build(ManagedIdentityId.systemAssigned());
        MtlsCredential first = cache.get();
        invalidClientsLeft.set(1);
        AccessToken token = cache.acquireToken("https://management.azure.com");
        MtlsCredential second = cache.get();
        assertNotEquals(first.x5tS256(), second.x5tS256());
        assertEquals(second.x5tS256(), token.x5tS256());
        assertEquals(2, issuedKeys.size());
        assertEquals(2, tokenServer.getRequestCount());
    }

    @Test
    void afterARotationTheNextTokenTravelsOnAFreshHandshakeWithTheNewCertificate() throws Exception {
        build(ManagedIdentityId.systemAssigned());
        AccessToken before = cache.acquireToken("https://management.azure.com");
        MtlsCredential renewed = cache.refresh();
        AccessToken after = cache.acquireToken("https://management.azure.com");
        assertNotEquals(before.x5tS256(), after.x5tS256());
        assertEquals(renewed.x5tS256(), after.x5tS256(), "no pooled connection or resumed session of the old generation was used");
        tokenServer.takeRequest(5, TimeUnit.SECONDS);
        assertEquals(renewed.certificate(), tokenServer.takeRequest(5, TimeUnit.SECONDS).getHandshake().peerCertificates().get(0));
    }

    @Test
    void anUntrustedTokenEndpointIsRefusedNotTrustedBlindly() {
        ImdsClient client = ImdsClient.builder().endpoint("http://127.0.0.1:" + imds.getPort()).sleeper(d -> { }).build();
        cache = MsiCredentialCache.builder().imdsClient(client).persistence(false).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).build();
        TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken("https://management.azure.com"));
        assertEquals(-1, e.tokenEndpointException().status());
        assertEquals(0, tokenServer.getRequestCount(), "no request reached a server whose CA is not trusted");
        assertEquals(1, issuedKeys.size(), "our trust manager refused the endpoint: a new certificate of ours cannot fix that,"
                + " so nothing was re-issued (protocol 7.6 re-mints for TLS failures the endpoint caused)");
        assertTrue(!e.getMessage().contains("re-issued") && e.getMessage().contains("its CA is trusted"), e.getMessage());
    }
}
