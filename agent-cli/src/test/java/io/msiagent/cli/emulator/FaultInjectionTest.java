package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every fault kind, observed through a real HTTP client. */
class FaultInjectionTest {
    static final String SCOPE = "https://vault.azure.net/.default";

    static ImdsEmulator emulator;
    static EmulatorClient client;
    static KeyPair keys;

    @BeforeAll
    static void start() {
        emulator = ImdsEmulator.start(EmulatorConfig.defaults());
        client = new EmulatorClient(emulator);
        keys = TestCredentials.rsa2048();
    }

    @AfterAll
    static void stop() {
        emulator.close();
    }

    @BeforeEach
    void reset() {
        emulator.reset();
    }

    private EmulatorClient.Reply issue() throws IOException {
        return client.issue(null, EmulatorClient.issueBody(client.csr(keys, emulator.systemAssigned()).base64(), null));
    }

    @ParameterizedTest
    @ValueSource(ints = {404, 410, 500, 503})
    void statusForTheNextNRepliesThenNormal(int status) throws IOException {
        emulator.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 2, Fault.status(status));
        for (int i = 0; i < 2; i++) {
            EmulatorClient.Reply r = issue();
            assertEquals(status, r.code());
            assertTrue(r.headers().get("Server").startsWith("IMDS/"));
            assertTrue(r.json().has("error"), r.body());
        }
        assertEquals(200, issue().code());
        EmulatorStats.Snapshot s = emulator.stats();
        assertEquals(3, s.calls(EmulatorPath.ISSUE_CREDENTIAL));
        assertEquals(2, s.faultsInjected(EmulatorPath.ISSUE_CREDENTIAL));
        assertEquals(1, s.certificatesIssued());
    }

    @Test
    void tooManyRequestsCarriesRetryAfter() throws IOException {
        emulator.faults().next(Fault.status(429, Duration.ofSeconds(7)));
        EmulatorClient.Reply r = client.metadata(null);
        assertEquals(429, r.code());
        assertEquals("7", r.headers().get("Retry-After"));
    }

    @Test
    void delayLongerThanTheClientTimeoutThenNormal() throws IOException {
        emulator.faults().next(EmulatorPath.PLATFORM_METADATA, 1, Fault.delay(Duration.ofSeconds(5)));
        OkHttpClient impatient = client.http.newBuilder().readTimeout(Duration.ofMillis(300)).build();
        Request request = new Request.Builder().url(client.url(ImdsHandler.METADATA_PATH, "cred-api-version=2.0").build())
                .header("Metadata", "true").build();
        assertThrows(InterruptedIOException.class, () -> EmulatorClient.execute(impatient, request));
        assertEquals(200, EmulatorClient.execute(impatient, request).code());
    }

    @Test
    void shortDelayStillAnswersCorrectly() throws IOException {
        emulator.faults().next(Fault.delay(Duration.ofMillis(300)));
        Instant before = Instant.now();
        EmulatorClient.Reply r = client.metadata(null);
        assertEquals(200, r.code());
        assertEquals(emulator.systemAssigned().clientId(), r.json().get("clientId").asText());
        assertTrue(Duration.between(before, Instant.now()).toMillis() >= 300, "the reply waited for the delay");
    }

    @Test
    void garbageJson() throws IOException {
        emulator.faults().next(Fault.garbageJson());
        EmulatorClient.Reply r = client.metadata(null);
        assertEquals(200, r.code());
        assertThrows(JsonProcessingException.class, () -> EmulatorClient.JSON.readTree(r.body()));
    }

    @Test
    void truncatedJsonIsAPrefixOfTheRealReply() throws IOException {
        emulator.faults().next(Fault.truncatedJson());
        EmulatorClient.Reply cut = client.metadata(null);
        EmulatorClient.Reply full = client.metadata(null);
        assertEquals(200, cut.code());
        assertThrows(JsonProcessingException.class, () -> EmulatorClient.JSON.readTree(cut.body()));
        assertTrue(full.body().startsWith(cut.body()) && cut.body().length() < full.body().length());
    }

    @Test
    void hugeBody() throws IOException {
        emulator.faults().next(Fault.hugeBody());
        Request request = new Request.Builder().url(client.url(ImdsHandler.METADATA_PATH, "cred-api-version=2.0").build())
                .header("Metadata", "true").build();
        try (Response r = client.http.newCall(request).execute(); InputStream in = r.body().byteStream()) {
            assertEquals(200, r.code());
            assertEquals(Fault.DEFAULT_HUGE_BODY_BYTES, r.body().contentLength());
            long n = 0;
            byte[] buf = new byte[64 * 1024];
            for (int k; (k = in.read(buf)) > 0;) {
                n += k;
            }
            assertEquals(Fault.DEFAULT_HUGE_BODY_BYTES, n);
        }
    }

    @Test
    void missingFields() throws IOException {
        emulator.faults().next(Fault.missingFields("clientId", "tenantId"));
        JsonNode md = client.metadata(null).json();
        assertFalse(md.has("clientId") || md.has("tenantId"));
        assertTrue(md.has("cuId") && md.has("attestationEndpoint"));

        emulator.faults().next(Fault.missingFields("certificate"));
        JsonNode issued = issue().json();
        assertFalse(issued.has("certificate"));
        assertTrue(issued.has("client_id") && issued.has("mtls_authentication_endpoint"));
    }

    @Test
    void certificateForAnotherKey() throws Exception {
        emulator.faults().next(Fault.certificateForOtherKey());
        X509Certificate cert = EmulatorClient.certificate(issue().json().get("certificate").asText());
        cert.verify(emulator.caCertificate().getPublicKey());
        assertFalse(java.util.Arrays.equals(keys.getPublic().getEncoded(), cert.getPublicKey().getEncoded()));
    }

    @Test
    void expiredAndFutureCertificates() throws IOException {
        emulator.faults().next(Fault.expiredCertificate()).next(Fault.futureCertificate());
        X509Certificate expired = EmulatorClient.certificate(issue().json().get("certificate").asText());
        X509Certificate future = EmulatorClient.certificate(issue().json().get("certificate").asText());
        Instant now = Instant.now();
        assertTrue(expired.getNotAfter().toInstant().isBefore(now.minus(Duration.ofMinutes(5))));
        assertTrue(future.getNotBefore().toInstant().isAfter(now.plus(Duration.ofMinutes(5))));
        assertArrayEquals(keys.getPublic().getEncoded(), future.getPublicKey().getEncoded());
    }

    @Test
    void unscopedCertificateFaultWaitsForIssueCredential() throws IOException {
        emulator.faults().next(Fault.expiredCertificate());
        assertEquals(200, client.metadata(null).code());
        assertEquals(1, emulator.faults().pending().size(), "metadata did not consume it");
        X509Certificate cert = EmulatorClient.certificate(issue().json().get("certificate").asText());
        assertTrue(cert.getNotAfter().toInstant().isBefore(Instant.now()));
        assertTrue(emulator.faults().pending().isEmpty());
    }

    @Test
    void wrongAndMissingServerHeader() throws IOException {
        emulator.faults().next(Fault.wrongServerHeader()).next(Fault.missingServerHeader());
        assertEquals(Fault.DEFAULT_WRONG_SERVER, client.metadata(null).headers().get("Server"));
        EmulatorClient.Reply none = client.metadata(null);
        assertEquals(200, none.code());
        assertNull(none.headers().get("Server"));
        assertEquals(ImdsHandler.SERVER, client.metadata(null).headers().get("Server"));
    }

    @Test
    void droppedConnectionGivesTheClientAnIoErrorNotAReply() throws IOException {
        emulator.faults().next(EmulatorPath.ISSUE_CREDENTIAL, 1, Fault.dropConnection());
        IOException e = assertThrows(IOException.class, this::issue);
        assertFalse(e instanceof InterruptedIOException, "EOF, not a timeout: " + e);
        assertEquals(200, issue().code());
        assertEquals(1, emulator.stats().certificatesIssued());
    }

    @Test
    void tokenEndpointInvalidClient() throws IOException {
        X509Certificate cert = client.issueCertificate(keys, emulator.systemAssigned(), null, null);
        OkHttpClient mtls = client.mtlsClient(keys, cert);
        String id = emulator.systemAssigned().clientId();
        emulator.faults().next(Fault.invalidClient()).next(Fault.invalidClient(401, 1000613));
        TokenEndpointTest.assertEsts(client.token(mtls, EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")), 400,
                "invalid_client", 700027);
        TokenEndpointTest.assertEsts(client.token(mtls, EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")), 401,
                "invalid_client", 1000613);
        assertEquals(200, client.token(mtls, EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")).code());
    }

    @Test
    void tokenEndpointTlsRefusal() throws IOException {
        X509Certificate cert = client.issueCertificate(keys, emulator.systemAssigned(), null, null);
        String id = emulator.systemAssigned().clientId();
        emulator.faults().next(Fault.tlsRefusal());
        TokenEndpointTest.assertTlsAlert(() -> client.token(client.mtlsClient(keys, cert),
                EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")));
        assertEquals(0, emulator.stats().calls(EmulatorPath.TOKEN));
        assertEquals(1, emulator.stats().faultsInjected(EmulatorPath.TOKEN));
        assertEquals(200, client.token(client.mtlsClient(keys, cert),
                EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")).code());
    }

    @Test
    void scopedFaultLeavesOtherPathsAlone() throws IOException {
        emulator.faults().next(EmulatorPath.TOKEN, 1, Fault.status(503));
        assertEquals(200, client.metadata(null).code());
        assertEquals(200, issue().code());
        assertEquals(1, emulator.faults().pending().size());
    }

    @Test
    void configuredFaultsApplyFromStartAndAgainAfterReset() throws IOException {
        try (ImdsEmulator e = ImdsEmulator.start(EmulatorConfig.builder()
                .fault(FaultRule.parse("kind=status;status=503;path=platformmetadata;count=1"))
                .fault(FaultRule.parse("drop-connection;path=issuecredential"))
                .build())) {
            EmulatorClient c = new EmulatorClient(e);
            assertEquals(503, c.metadata(null).code());
            assertEquals(200, c.metadata(null).code());
            e.reset();
            assertEquals(503, c.metadata(null).code());
            assertEquals(0, e.stats().calls(EmulatorPath.ISSUE_CREDENTIAL));
            assertThrows(IOException.class, () -> c.issue(null,
                    EmulatorClient.issueBody(c.csr(keys, e.systemAssigned()).base64(), null)));
        }
    }

    @Test
    void faultsPostedToTheControlEndpoint() throws IOException {
        EmulatorClient.Reply posted = client.postJson("/emulator/faults",
                "[{\"kind\":\"status\",\"status\":429,\"retry-after\":\"3s\",\"path\":\"platformmetadata\",\"count\":2},"
                        + "{\"kind\":\"missing-fields\",\"path\":\"issuecredential\",\"fields\":[\"certificate\",\"client_id\"]}]");
        assertEquals(200, posted.code(), posted.body());
        assertEquals(2, posted.json().get("pending").size());
        assertEquals(429, client.metadata(null).code());
        assertEquals("3", client.metadata(null).headers().get("Retry-After"));
        assertEquals(200, client.metadata(null).code());
        JsonNode issued = issue().json();
        assertFalse(issued.has("certificate") || issued.has("client_id"));
        assertNotEquals(0, emulator.stats().totalFaultsInjected());
    }
}
