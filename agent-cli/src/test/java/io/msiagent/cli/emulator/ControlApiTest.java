package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.security.KeyPair;
import java.util.Collections;
import java.util.Optional;
import okhttp3.Headers;
import okhttp3.Request;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The control API (stats, faults, reset) and the loopback-only rules. */
class ControlApiTest {
    static final EmulatedIdentity UAMI = EmulatedIdentity.randomUserAssigned("ctl");

    static ImdsEmulator emulator;
    static EmulatorClient client;

    @BeforeAll
    static void start() {
        emulator = ImdsEmulator.start(EmulatorConfig.builder().addUserAssigned(UAMI).build());
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
    void statsCountCallsPerPathPerIdentityAndIssuedCertificatesAndTokens() throws IOException {
        KeyPair keys = TestCredentials.rsa2048();
        client.metadata(null);
        client.metadata("client_id=" + UAMI.clientId());
        client.metadata("client_id=not-assigned");
        var cert = client.issueCertificate(keys, UAMI, "client_id=" + UAMI.clientId(), null);
        client.token(client.mtlsClient(keys, cert),
                EmulatorClient.tokenForm(UAMI.clientId(), "https://storage.azure.com/.default", "mtls_pop"));

        JsonNode stats = client.get("/emulator/stats", Headers.of()).json();
        assertEquals(3, stats.get("calls").get("platformmetadata").asInt());
        assertEquals(1, stats.get("calls").get("issuecredential").asInt());
        assertEquals(1, stats.get("calls").get("token").asInt());
        assertEquals(1, stats.get("certificatesIssued").asInt());
        assertEquals(1, stats.get("tokensIssued").asInt());
        JsonNode uami = stats.get("identities").get(UAMI.clientId());
        assertEquals(1, uami.get("platformmetadata").asInt());
        assertEquals(1, uami.get("issuecredential").asInt());
        assertEquals(1, uami.get("token").asInt());
        assertEquals(1, uami.get("certificates").asInt());
        assertEquals(1, uami.get("tokens").asInt());
        assertEquals(1, stats.get("identities").get(emulator.systemAssigned().clientId()).get("platformmetadata").asInt());
        assertEquals(2, stats.get("identities").size(), "the unknown selector counts only per path");

        assertEquals(200, client.postJson("/emulator/reset", "").code());
        assertEquals(0, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA));
        assertEquals(0, client.get("/emulator/stats", Headers.of()).json().get("certificatesIssued").asInt());
    }

    @Test
    void faultsCanBeListedAndCleared() throws IOException {
        assertEquals(200, client.postJson("/emulator/faults",
                "{\"kind\":\"delay\",\"delay\":\"5s\",\"path\":\"token\",\"count\":3}").code());
        JsonNode pending = client.get("/emulator/faults", Headers.of()).json().get("pending");
        assertEquals(1, pending.size());
        assertEquals("delay", pending.get(0).get("kind").asText());
        assertEquals("token", pending.get(0).get("path").asText());
        assertEquals(3, pending.get(0).get("remaining").asInt());
        EmulatorClient.Reply cleared = EmulatorClient.execute(client.http, new Request.Builder()
                .url(emulator.controlEndpoint() + "/faults").delete().build());
        assertEquals(0, cleared.json().get("pending").size());
        assertTrue(emulator.faults().pending().isEmpty());
    }

    @Test
    void badFaultsAre400AndQueueNothing() throws IOException {
        for (String bad : new String[] {"{\"kind\":\"explode\"}", "{\"kind\":\"status\"}", "not json",
                "{\"kind\":\"tls-refusal\",\"path\":\"platformmetadata\"}", "{\"kind\":\"status\",\"status\":503,\"colour\":1}"}) {
            EmulatorClient.Reply r = client.postJson("/emulator/faults", bad);
            assertEquals(400, r.code(), bad);
            assertTrue(r.description().startsWith("bad fault"), r.description());
        }
        assertTrue(emulator.faults().pending().isEmpty());
        assertEquals(404, client.get("/emulator/nothing", Headers.of()).code());
    }

    @Test
    void foreignHostHeaderIsRefused() throws IOException {
        EmulatorClient.Reply r = client.get("/emulator/stats", Headers.of("Host", "attacker.example:80"));
        assertEquals(403, r.code());
        assertEquals(200, client.get("/emulator/stats", Headers.of("Host", "localhost:" + emulator.httpPort())).code());
    }

    @Test
    void nonLoopbackCallersAreRefused() throws Exception {
        InetSocketAddress lan = new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 1, 2, 3}), 40000);
        assertFalse(ControlHandler.allowed(lan, "127.0.0.1:80"));
        assertFalse(ControlHandler.allowed(new InetSocketAddress(InetAddress.getByName("::1"), 1), "evil.example"));
        assertTrue(ControlHandler.allowed(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), "127.0.0.1:8080"));
        assertTrue(ControlHandler.allowed(new InetSocketAddress(InetAddress.getByName("::1"), 1), "[::1]:8080"));
    }

    @Test
    void serversListenOnLoopbackOnly() throws IOException {
        Optional<InetAddress> external = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
                .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
                .findFirst();
        Assumptions.assumeTrue(external.isPresent(), "no non-loopback IPv4 address on this machine");
        for (int port : new int[] {emulator.httpPort(), emulator.tlsPort()}) {
            assertThrows(ConnectException.class, () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(external.get(), port), 2000);
                }
            }, "port " + port + " reachable on " + external.get());
        }
        assertTrue(emulator.imdsEndpoint().startsWith("http://127.0.0.1:"));
        assertTrue(emulator.tokenEndpointBase().startsWith("https://127.0.0.1:"));
    }
}
