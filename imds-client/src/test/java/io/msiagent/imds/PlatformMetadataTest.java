package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PlatformMetadataTest {
    private static final String GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    private ImdsServer imds;
    private FakeTime time;
    private ImdsClient client;

    @BeforeEach
    void start() throws IOException {
        imds = new ImdsServer();
        time = new FakeTime();
        client = ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).jitter(() -> 0.0).build();
    }

    @AfterEach
    void stop() {
        imds.close();
    }

    @Test
    void sendsTheDocumentedRequestAndReadsTheReply() throws Exception {
        imds.enqueue(ImdsServer.metadataOk());

        PlatformMetadata m = client.platformMetadata(IdentitySelector.systemAssigned());

        assertEquals(new PlatformMetadata("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3", "751a212b-4003-416e-b600-e1f48e40db9f",
                new ComputeUnitId("vm-1234", null), "https://fake_attestation_endpoint"), m);
        RecordedRequest r = imds.take();
        assertEquals("GET", r.getMethod());
        assertEquals("/metadata/identity/getplatformmetadata", r.getUrl().encodedPath());
        assertEquals("cred-api-version=2.0", r.getUrl().encodedQuery());
        assertEquals("true", r.getHeaders().get("Metadata"));
        assertTrue(r.getHeaders().get("x-ms-client-request-id").matches(GUID), r.getHeaders().toString());
        assertEquals(0, r.getBodySize());
    }

    @Test
    void eachCallHasItsOwnRequestIdAndRetriesOfOneCallShareIt() throws Exception {
        imds.enqueue(ImdsServer.status(503).build());
        imds.enqueue(ImdsServer.metadataOk());
        imds.enqueue(ImdsServer.metadataOk());

        client.platformMetadata(IdentitySelector.systemAssigned());
        client.platformMetadata(IdentitySelector.systemAssigned());

        String first = imds.take().getHeaders().get("x-ms-client-request-id");
        String retry = imds.take().getHeaders().get("x-ms-client-request-id");
        String second = imds.take().getHeaders().get("x-ms-client-request-id");
        assertEquals(first, retry);
        assertTrue(!first.equals(second), "a new call gets a new id");
    }

    @Test
    void readsVmssIdsAndIgnoresUnknownProperties() {
        imds.enqueue(ImdsServer.metadata("""
                {"cuId": {"vmId": "vm-1", "vmssId": "ss-1", "extra": 1}, "clientId": "c", "tenantId": "t",
                 "attestationEndpoint": "https://a", "somethingNew": {"x": [1, 2]},}"""));

        PlatformMetadata m = client.platformMetadata(IdentitySelector.systemAssigned());

        assertEquals(new ComputeUnitId("vm-1", "ss-1"), m.cuId());
    }

    @Test
    void anEmptyMemberOfCuIdIsKeptAsSentWhenTheOtherIsSet() {
        imds.enqueue(ImdsServer.metadata(
                "{\"cuId\": {\"vmId\": \"vm-1\", \"vmssId\": \"\"}, \"clientId\": \"c\", \"tenantId\": \"t\", \"attestationEndpoint\": \"https://a\"}"));
        imds.enqueue(ImdsServer.metadata(
                "{\"cuId\": {\"vmId\": \"\", \"vmssId\": \"ss-1\"}, \"clientId\": \"c\", \"tenantId\": \"t\", \"attestationEndpoint\": \"https://a\"}"));

        assertEquals(new ComputeUnitId("vm-1", ""), client.platformMetadata(IdentitySelector.systemAssigned()).cuId());
        assertEquals(new ComputeUnitId("", "ss-1"), client.platformMetadata(IdentitySelector.systemAssigned()).cuId());
    }

    @ParameterizedTest
    @MethodSource("selectors")
    void userAssignedSelectorsAreAppendedAfterTheVersion(IdentitySelector selector, String name) throws Exception {
        imds.enqueue(ImdsServer.metadataOk());

        client.platformMetadata(selector);

        RecordedRequest r = imds.take();
        assertEquals(List.of("cred-api-version", name), List.copyOf(r.getUrl().queryParameterNames()).stream()
                .sorted((a, b) -> a.equals("cred-api-version") ? -1 : 1).toList());
        assertTrue(r.getUrl().encodedQuery().startsWith("cred-api-version=2.0&" + name + "="), r.getUrl().toString());
        assertEquals(selector.value(), r.getUrl().queryParameter(name));
    }

    static Stream<Arguments> selectors() {
        return Stream.of(
                Arguments.of(IdentitySelector.clientId("d3adb33f-c0de-ed0c-c0de-deadb33fc0d3"), "client_id"),
                Arguments.of(IdentitySelector.objectId("0b1ec7-1d"), "object_id"),
                Arguments.of(IdentitySelector.resourceId("/subscriptions/s/resourceGroups/rg/providers/"
                        + "Microsoft.ManagedIdentity/userAssignedIdentities/id"), "mi_res_id"));
    }

    @Test
    void selectorValuesArePercentEncodedSoTheyCannotAddParameters() throws Exception {
        imds.enqueue(ImdsServer.metadataOk());
        String hostile = "/subscriptions/s/resourceGroups/my rg/providers/x/id&client_id=evil#frag";

        client.platformMetadata(IdentitySelector.resourceId(hostile));

        RecordedRequest r = imds.take();
        assertEquals(2, r.getUrl().querySize(), r.getTarget());
        assertEquals(hostile, r.getUrl().queryParameter("mi_res_id"));
        assertNull(r.getUrl().queryParameter("client_id"));
        assertTrue(!r.getTarget().contains(" ") && !r.getTarget().contains("#"), r.getTarget());
    }

    @ParameterizedTest
    @ValueSource(strings = {"IMDS/150.870.65.1854", "imds/1", "Microsoft-IMDS"})
    void acceptsAServerHeaderContainingImds(String server) {
        imds.enqueue(ImdsServer.status(200).setHeader("Server", server).body(ImdsServer.METADATA_JSON).build());

        assertEquals("vm-1234", client.platformMetadata(IdentitySelector.systemAssigned()).cuId().vmId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "I_MDS/150.870.65.1854", "nginx/1.25"})
    void refusesAReplyWithoutImdsInTheServerHeader(String server) throws Exception {
        MockResponse.Builder reply = ImdsServer.status(200).body(ImdsServer.METADATA_JSON).removeHeader("Server");
        if (!server.isEmpty()) {
            reply.setHeader("Server", server);
        }
        imds.enqueue(reply.build());

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.platformMetadata(IdentitySelector.systemAssigned()));

        assertTrue(e.getMessage().contains(server.isEmpty() ? "without a Server header" : "not IMDS's"), e.getMessage());
        assertEquals(200, e.status());
        assertEquals(imds.take().getHeaders().get("x-ms-client-request-id"), e.clientRequestId());
        assertEquals("srv-200", e.serverRequestId());
        assertEquals(1, imds.requestCount(), "a malformed reply is not retried");
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("malformedBodies")
    void malformedBodiesAreRefusedWithAClearMessage(String body, String expected) {
        imds.enqueue(ImdsServer.metadata(body));

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.platformMetadata(IdentitySelector.systemAssigned()));

        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains("x-ms-request-id srv-200"), e.getMessage());
        assertTrue(!e.retryable());
    }

    static Stream<Arguments> malformedBodies() {
        String ok = ImdsServer.METADATA_JSON;
        return Stream.of(
                Arguments.of("<html>IMDS</html>", "not valid JSON"),
                Arguments.of("", "the body is empty"),
                Arguments.of(ok.substring(0, ok.length() / 2), "truncated"),
                Arguments.of("[1,2]", "is a JSON array, expected a JSON object"),
                Arguments.of("\"just a string\"", "is a JSON string, expected a JSON object"),
                Arguments.of(ok + " {}", "not valid JSON"),
                Arguments.of(ok.replace("\"clientId\"", "\"ClientId\""), "field 'clientId' is missing"),
                Arguments.of(ok.replace("\"d3adb33f-c0de-ed0c-c0de-deadb33fc0d3\"", "null"), "field 'clientId' is missing"),
                Arguments.of(ok.replace("\"751a212b-4003-416e-b600-e1f48e40db9f\"", "\" \""), "field 'tenantId' is empty"),
                Arguments.of(ok.replace("\"d3adb33f-c0de-ed0c-c0de-deadb33fc0d3\"", "12345"), "'clientId' is a JSON number"),
                Arguments.of(ok.replace("\"d3adb33f-c0de-ed0c-c0de-deadb33fc0d3\"", "{\"id\":1}"),
                        "'clientId' is a JSON object, expected a string"),
                Arguments.of(ok.replace("\"d3adb33f-c0de-ed0c-c0de-deadb33fc0d3\"", "true"), "'clientId' is a JSON boolean"),
                Arguments.of(ok.replace("\"https://fake_attestation_endpoint\"", "[]"), "'attestationEndpoint' is a JSON array"),
                Arguments.of(ok.replace(",\n \"attestationEndpoint\": \"https://fake_attestation_endpoint\"", ""),
                        "field 'attestationEndpoint' is missing"),
                Arguments.of(ok.replace("{\"vmId\": \"vm-1234\"}", "\"vm-1234\""), "'cuId' is a JSON string, expected an object"),
                Arguments.of(ok.replace("{\"vmId\": \"vm-1234\"}", "{}"), "neither 'vmId' nor 'vmssId'"),
                Arguments.of(ok.replace("{\"vmId\": \"vm-1234\"}", "{\"vmId\": \"\", \"vmssId\": \" \"}"), "neither 'vmId' nor 'vmssId'"),
                Arguments.of(ok.replace("{\"vmId\": \"vm-1234\"}", "{\"vmId\": 7}"), "'vmId' is a JSON number"),
                Arguments.of(ok.replace("\"cuId\": {\"vmId\": \"vm-1234\"},", ""), "field 'cuId' is missing"),
                Arguments.of(ok.replace("{\"cuId\"", "{\"clientId\": \"x\", \"cuId\""), "duplicate field 'clientId'"));
    }

    @Test
    void aHugeBodyIsRefusedWithoutReadingItAll() {
        imds.enqueue(ImdsServer.metadata("{\"x\":\"" + "a".repeat(10 * 1024 * 1024) + "\"}"));

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.platformMetadata(IdentitySelector.systemAssigned()));

        assertTrue(e.getMessage().contains("larger than 1024 KiB"), e.getMessage());
    }

    @Test
    void aHugeChunkedBodyWithoutContentLengthIsCutAtTheLimit() {
        Buffer huge = new Buffer().writeUtf8("{\"x\":\"" + "a".repeat(10 * 1024 * 1024) + "\"}");
        imds.enqueue(ImdsServer.status(200).chunkedBody(huge, 64 * 1024).build());

        MalformedResponseException e = assertThrows(MalformedResponseException.class,
                () -> client.platformMetadata(IdentitySelector.systemAssigned()));

        assertTrue(e.getMessage().contains("larger than 1024 KiB"), e.getMessage());
    }
}
