package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import okhttp3.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** getplatformmetadata: header, version and selector checks, several identities, reply shape. */
class ImdsEndpointTest {
    static final EmulatedIdentity UAMI_A = EmulatedIdentity.userAssigned("11111111-1111-1111-1111-111111111111",
            "aaaaaaaa-1111-1111-1111-111111111111",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a");
    static final EmulatedIdentity UAMI_B = EmulatedIdentity.randomUserAssigned("b");

    static ImdsEmulator emulator;
    static EmulatorClient client;

    @BeforeAll
    static void start() {
        emulator = ImdsEmulator.start(EmulatorConfig.builder()
                .tenantId("751a212b-4003-416e-b600-e1f48e40db9f")
                .addUserAssigned(UAMI_A)
                .addUserAssigned(UAMI_B)
                .build());
        client = new EmulatorClient(emulator);
    }

    @AfterAll
    static void stop() {
        emulator.close();
    }

    @BeforeEach
    void reset() {
        emulator.reset();
    }

    @Test
    void systemAssignedMetadataHasTheDocumentedShapeAndHeaders() throws IOException {
        EmulatorClient.Reply r = client.metadata(null);
        assertEquals(200, r.code(), r.body());
        assertTrue(r.headers().get("Server").contains("IMDS"), "Server header " + r.headers().get("Server"));
        assertNotNull(r.headers().get("x-ms-request-id"));
        JsonNode j = r.json();
        assertEquals(emulator.systemAssigned().clientId(), j.get("clientId").asText());
        assertEquals("751a212b-4003-416e-b600-e1f48e40db9f", j.get("tenantId").asText());
        assertEquals(EmulatorConfig.DEFAULT_VM_ID, j.get("cuId").get("vmId").asText());
        assertFalse(j.get("cuId").has("vmssId"));
        assertEquals(EmulatorConfig.DEFAULT_ATTESTATION_ENDPOINT, j.get("attestationEndpoint").asText());
    }

    @Test
    void eachSelectorReachesItsUserAssignedIdentity() throws IOException {
        assertEquals(UAMI_A.clientId(), client.metadata("client_id=" + UAMI_A.clientId()).json().get("clientId").asText());
        assertEquals(UAMI_A.clientId(), client.metadata("object_id=" + UAMI_A.objectId()).json().get("clientId").asText());
        assertEquals(UAMI_A.clientId(), client.metadata("mi_res_id=" + UAMI_A.resourceId()).json().get("clientId").asText());
        assertEquals(UAMI_B.clientId(), client.metadata("client_id=" + UAMI_B.clientId()).json().get("clientId").asText());
        assertEquals(UAMI_B.clientId(), client.metadata("mi_res_id=" + UAMI_B.resourceId()).json().get("clientId").asText());

        EmulatorStats.Snapshot s = emulator.stats();
        assertEquals(5, s.calls(EmulatorPath.PLATFORM_METADATA));
        assertEquals(3, s.calls(EmulatorPath.PLATFORM_METADATA, UAMI_A.clientId()));
        assertEquals(2, s.calls(EmulatorPath.PLATFORM_METADATA, UAMI_B.clientId()));
        assertEquals(0, s.calls(EmulatorPath.PLATFORM_METADATA, emulator.systemAssigned().clientId()));
    }

    @Test
    void unknownIdentityIs400IdentityNotFound() throws IOException {
        EmulatorClient.Reply r = client.metadata("client_id=99999999-9999-9999-9999-999999999999");
        assertEquals(400, r.code());
        assertEquals("invalid_request", r.error());
        assertEquals("Identity not found", r.description());
        assertEquals(400, client.metadata("object_id=" + UAMI_A.clientId()).code(), "a client id is not an object id");
    }

    @Test
    void twoSelectorsAreRefused() throws IOException {
        EmulatorClient.Reply r = client.metadata("client_id=" + UAMI_A.clientId() + "&object_id=" + UAMI_A.objectId());
        assertEquals(400, r.code());
        assertTrue(r.description().contains("at most one"), r.description());
    }

    @Test
    void missingMetadataHeaderIs400WithJsonError() throws IOException {
        EmulatorClient.Reply r = client.get(ImdsHandler.METADATA_PATH + "?cred-api-version=2.0", Headers.of());
        assertEquals(400, r.code());
        assertEquals("invalid_request", r.error());
        assertEquals("Required metadata header not specified", r.description());
        assertTrue(r.headers().get("Server").startsWith("IMDS/"));
        assertEquals(400, client.get(ImdsHandler.METADATA_PATH + "?cred-api-version=2.0",
                Headers.of("Metadata", "false")).code());
    }

    @Test
    void apiVersionMustBe2() throws IOException {
        Headers md = Headers.of("Metadata", "true");
        EmulatorClient.Reply missing = client.get(ImdsHandler.METADATA_PATH, md);
        assertEquals(400, missing.code());
        assertTrue(missing.description().contains("cred-api-version"), missing.description());
        EmulatorClient.Reply wrong = client.get(ImdsHandler.METADATA_PATH + "?cred-api-version=1.0", md);
        assertEquals(400, wrong.code());
        assertTrue(wrong.description().contains("1.0"), wrong.description());
        assertEquals(400, client.get(ImdsHandler.METADATA_PATH + "?api-version=2025-05-01", md).code());
    }

    @Test
    void wrongMethodAndUnknownPath() throws IOException {
        EmulatorClient.Reply post = client.postJson(ImdsHandler.METADATA_PATH + "?cred-api-version=2.0", "{}");
        // no Metadata header on that POST: the header check comes first
        assertEquals(400, post.code());
        EmulatorClient.Reply get = client.get(ImdsHandler.ISSUE_PATH + "?cred-api-version=2.0",
                Headers.of("Metadata", "true"));
        assertEquals(405, get.code());
        assertEquals("POST", get.headers().get("Allow"));
        EmulatorClient.Reply unknown = client.get("/metadata/identity/oauth2/token?api-version=2018-02-01",
                Headers.of("Metadata", "true"));
        assertEquals(404, unknown.code());
    }

    @Test
    void vmssInstanceReportsBothIds() throws IOException {
        try (ImdsEmulator vmss = ImdsEmulator.start(EmulatorConfig.builder().vmssId("scale-set-7").build())) {
            JsonNode cu = new EmulatorClient(vmss).metadata(null).json().get("cuId");
            assertEquals(EmulatorConfig.DEFAULT_VM_ID, cu.get("vmId").asText());
            assertEquals("scale-set-7", cu.get("vmssId").asText());
        }
    }
}
