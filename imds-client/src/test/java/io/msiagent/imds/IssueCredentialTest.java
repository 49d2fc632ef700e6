package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class IssueCredentialTest {
    private static final byte[] CSR = "pretend this is a DER PKCS#10 request \u00e9".getBytes(StandardCharsets.UTF_8);
    private static final byte[] CERT = ImdsServer.someCertificateDer();
    private static final String CERT_B64 = Base64.getEncoder().encodeToString(CERT);
    private static final String ATTESTATION = "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoiYXR0ZXN0ZWQifQ.c2lnbmF0dXJl";

    private ImdsServer imds;
    private ImdsClient client;

    @BeforeEach
    void start() throws IOException {
        imds = new ImdsServer();
        FakeTime time = new FakeTime();
        client = ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).jitter(() -> 0.0).build();
    }

    @AfterEach
    void stop() {
        imds.close();
    }

    private static mockwebserver3.MockResponse credential(String json) {
        return ImdsServer.status(200).addHeader("Content-Type", "application/json").body(json).build();
    }

    @Test
    void postsTheCsrAndAttestationTokenAndReadsTheCredential() throws Exception {
        imds.enqueue(credential(ImdsServer.credentialJson(CERT_B64)));

        IssuedCredential c = client.issueCredential(IdentitySelector.clientId("d3adb33f"), CSR, ATTESTATION);

        assertEquals("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3", c.clientId());
        assertEquals("751a212b-4003-416e-b600-e1f48e40db9f", c.tenantId());
        assertArrayEquals(CERT, c.certificateDer());
        assertEquals("SystemAssigned", c.identityType());
        assertEquals("https://eastus2.mtlsauth.microsoft.com/", c.mtlsAuthenticationEndpoint());
        assertEquals("https://eastus2.mtlsauth.microsoft.com/751a212b-4003-416e-b600-e1f48e40db9f/oauth2/v2.0/token",
                c.tokenEndpoint());

        RecordedRequest r = imds.take();
        assertEquals("POST", r.getMethod());
        assertEquals("/metadata/identity/issuecredential", r.getUrl().encodedPath());
        assertEquals("cred-api-version=2.0&client_id=d3adb33f", r.getUrl().encodedQuery());
        assertEquals("true", r.getHeaders().get("Metadata"));
        assertTrue(r.getHeaders().get("x-ms-client-request-id")
                .matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
        assertEquals(r.getHeaders().get("x-ms-client-request-id"), c.clientRequestId(), "the reply names the call that returned it");
        assertEquals("srv-200", c.serverRequestId(), "and the server's id for it");
        assertEquals("application/json; charset=utf-8", r.getHeaders().get("Content-Type"));
        JsonNode body = new ObjectMapper().readTree(r.getBody().utf8());
        assertEquals(List.of("csr", "attestation_token"), iterable(body.fieldNames()));
        assertEquals(Base64.getEncoder().encodeToString(CSR), body.get("csr").textValue());
        assertArrayEquals(CSR, Base64.getDecoder().decode(body.get("csr").textValue()), "standard base64 with padding");
        assertEquals(ATTESTATION, body.get("attestation_token").textValue());
    }

    @Test
    void aReplyWithoutTheServersRequestIdHasNone() throws Exception {
        imds.enqueue(ImdsServer.status(200).addHeader("Content-Type", "application/json").removeHeader("x-ms-request-id")
                .body(ImdsServer.credentialJson(CERT_B64)).build());
        IssuedCredential c = client.issueCredential(IdentitySelector.systemAssigned(), CSR, null);
        assertNull(c.serverRequestId());
        assertEquals(new IssuedCredential(c.clientId(), c.tenantId(), c.certificateDer(), c.identityType(), c.mtlsAuthenticationEndpoint()),
                c, "the ids are not part of what was issued");
    }

    @Test
    void omitsTheAttestationTokenWhenThereIsNone() throws Exception {
        imds.enqueue(credential(ImdsServer.credentialJson(CERT_B64)));
        imds.enqueue(credential(ImdsServer.credentialJson(CERT_B64)));

        client.issueCredential(IdentitySelector.systemAssigned(), CSR, null);
        client.issueCredential(IdentitySelector.systemAssigned(), CSR, " ");

        for (int i = 0; i < 2; i++) {
            RecordedRequest r = imds.take();
            assertEquals("cred-api-version=2.0", r.getUrl().encodedQuery());
            JsonNode body = new ObjectMapper().readTree(r.getBody().utf8());
            assertEquals(List.of("csr"), iterable(body.fieldNames()));
        }
    }

    @Test
    void badInputIsRefusedBeforeAnyRequest() {
        assertThrows(IllegalArgumentException.class, () -> client.issueCredential(IdentitySelector.systemAssigned(),
                new byte[0], null));
        assertThrows(NullPointerException.class, () -> client.issueCredential(IdentitySelector.systemAssigned(),
                null, null));
        assertThrows(NullPointerException.class, () -> client.issueCredential(null, CSR, null));
        assertEquals(0, imds.requestCount());
    }

    @Test
    void aRejectedRequestCarriesImdsErrorAndIds() throws Exception {
        imds.enqueue(ImdsServer.status(400).setHeader("x-ms-request-id", "imds-77")
                .body("{\"error\":\"invalid_request\",\"error_description\":\"Attestation Token is missing / empty in"
                        + " the issue credential request\"}").build());

        ImdsException e = assertThrows(ImdsException.class,
                () -> client.issueCredential(IdentitySelector.systemAssigned(), CSR, null));

        assertEquals(400, e.status());
        assertFalse(e.retryable());
        assertEquals(imds.take().getHeaders().get("x-ms-client-request-id"), e.clientRequestId());
        assertEquals("imds-77", e.serverRequestId());
        assertTrue(e.getMessage().contains("x-ms-request-id imds-77"), e.getMessage());
        assertTrue(e.getMessage().startsWith("IMDS issuecredential failed with HTTP 400 after 1 attempt ("),
                e.getMessage());
        assertTrue(e.getMessage().contains("invalid_request: Attestation Token is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("requires an attestation token"), e.getMessage());
        assertEquals(1, imds.requestCount());
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("malformedCredentials")
    void malformedCredentialsAreRefused(String json, String expected) {
        imds.enqueue(credential(json));

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.issueCredential(IdentitySelector.systemAssigned(), CSR, null));

        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith("IMDS issuecredential replied HTTP 200 but"), e.getMessage());
        assertEquals(200, e.status());
        assertEquals(1, imds.requestCount());
    }

    @Test
    void aCertificateWrappedInLinesOrWithSpacesIsRead() {
        String wrapped64 = CERT_B64.replaceAll("(.{64})", "$1\\\\r\\\\n"); // JSON escapes: \r\n in the value
        String wrapped76 = CERT_B64.replaceAll("(.{76})", "$1\\\\n");
        String spaced = CERT_B64.substring(0, 10) + " " + CERT_B64.substring(10);
        for (String b64 : new String[] {wrapped64, wrapped76, spaced}) {
            imds.enqueue(credential(ImdsServer.credentialJson(b64)));
            assertArrayEquals(CERT, client.issueCredential(IdentitySelector.systemAssigned(), CSR, null).certificateDer(), b64);
        }
    }

    static Stream<Arguments> malformedCredentials() {
        String ok = ImdsServer.credentialJson(CERT_B64);
        String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(CERT)
                + "\n-----END CERTIFICATE-----\n";
        byte[] withTrailer = java.util.Arrays.copyOf(CERT, CERT.length + 4);
        Stream<Arguments> missing = Stream.of("client_id", "tenant_id", "certificate", "identity_type",
                "mtls_authentication_endpoint").flatMap(field -> Stream.of(
                        Arguments.of(ok.replaceAll("\"" + field + "\": \"[^\"]*\"", "\"x_" + field + "\": \"v\""),
                                "field '" + field + "' is missing"),
                        Arguments.of(ok.replaceAll("\"" + field + "\": \"[^\"]*\"", "\"" + field + "\": \"\""),
                                "field '" + field + "' is empty"),
                        Arguments.of(ok.replaceAll("\"" + field + "\": \"[^\"]*\"", "\"" + field + "\": {}"),
                                "field '" + field + "' is a JSON object")));
        return Stream.concat(missing, Stream.of(
                Arguments.of(ImdsServer.credentialJson("not base64 at all!"), "'certificate' is not base64"),
                Arguments.of(ImdsServer.credentialJson(Base64.getEncoder().encodeToString(
                        "garbage bytes, not DER".getBytes(StandardCharsets.UTF_8))), "not a DER X.509 certificate"),
                Arguments.of(ImdsServer.credentialJson(Base64.getEncoder().encodeToString(
                        pem.getBytes(StandardCharsets.US_ASCII))), "not exactly one DER X.509 certificate"),
                Arguments.of(ImdsServer.credentialJson(Base64.getEncoder().encodeToString(withTrailer)),
                        "not exactly one DER X.509 certificate"),
                Arguments.of(ImdsServer.credentialJson(CERT_B64.substring(0, CERT_B64.length() / 2 / 4 * 4)),
                        "not a DER X.509 certificate"),
                Arguments.of(ok.substring(0, ok.length() - 40), "truncated"),
                Arguments.of("nonsense", "not valid JSON")));
    }

    @Test
    void malformedReplyExcerptsHideTheCertificateBlob() {
        imds.enqueue(credential(ImdsServer.credentialJson(CERT_B64).replace("\"identity_type\": \"SystemAssigned\",", "")));

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.issueCredential(IdentitySelector.systemAssigned(), CSR, null));

        assertTrue(e.bodyExcerpt().contains("<redacted-blob>"), e.bodyExcerpt());
        assertFalse(e.bodyExcerpt().contains(CERT_B64.substring(0, 60)), e.bodyExcerpt());
        assertTrue(e.bodyExcerpt().length() <= 300);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
