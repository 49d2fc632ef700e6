package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import okhttp3.tls.HandshakeCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every log line (slf4j-simple at debug, written to System.err, captured here) and every exception
 * message and excerpt is searched for the secrets that passed through the client.
 */
class SecretsStayOutOfLogsTest {
    private static final String ATTESTATION = "eyJhbGciOiJSUzI1NiJ9.eyJtYWEiOiJhdHRlc3RlZCJ9.bWFhLXNpZ25hdHVyZQ";
    private static final String ACCESS_TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL3gifQ.YWNjZXNzLXNpZw";
    private static final String OPAQUE_TOKEN = "opaque-access-token-7f3a9c";
    private static final byte[] CSR = "csr-bytes-that-must-not-be-logged".repeat(8).getBytes(StandardCharsets.UTF_8);

    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final List<String> messages = new ArrayList<>();
    private PrintStream originalErr;

    @BeforeEach
    void captureLogs() {
        originalErr = System.err;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setErr(originalErr);
    }

    @Test
    void noSecretReachesALogLineOrAnExceptionMessage() throws Exception {
        try (ImdsServer imds = new ImdsServer(); TokenServer ests = new TokenServer()) {
            FakeTime time = new FakeTime();
            ImdsClient client = ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).build();
            // IMDS echoes our secrets back in an error (retried), then in a malformed 200.
            String echo = "{\"error\":\"invalid_request\",\"error_description\":\"bad token " + ATTESTATION
                    + "\",\"attestation_token\":\"" + ATTESTATION + "\",\"csr\":\""
                    + Base64.getEncoder().encodeToString(CSR) + "\"}";
            imds.enqueue(ImdsServer.status(500).body(echo).build());
            imds.enqueue(ImdsServer.status(400).body(echo).build());
            record(assertThrows(ImdsException.class,
                    () -> client.issueCredential(IdentitySelector.systemAssigned(), CSR, ATTESTATION)));
            imds.enqueue(ImdsServer.status(200).body(echo).build());
            record(assertThrows(MalformedResponseException.class,
                    () -> client.issueCredential(IdentitySelector.systemAssigned(), CSR, ATTESTATION)));

            // A bare token as the whole body (not JSON): the parser's message must not quote it.
            imds.enqueue(ImdsServer.status(200).body(ATTESTATION).build());
            record(assertThrows(MalformedResponseException.class,
                    () -> client.platformMetadata(IdentitySelector.systemAssigned())));

            HandshakeCertificates tls = ests.clientTls(true);
            MtlsTokenClient tokens = MtlsTokenClient.builder().tls(tls.sslSocketFactory(), tls.trustManager())
                    .sleeper(time).time(time).build();
            String reply = "{\"token_type\":\"mtls_pop\",\"expires_in\":60,\"access_token\":\"" + ACCESS_TOKEN + "\"}";
            ests.enqueue(TokenServer.json(200, reply));
            AccessToken ok = tokens.requestToken(ests.tokenEndpoint(), "c", "https://x", TokenType.MTLS_POP);
            messages.add(ok.toString());
            ests.enqueue(TokenServer.json(200, reply.replace("mtls_pop", "bearer")));
            record(assertThrows(TokenEndpointException.class,
                    () -> tokens.requestToken(ests.tokenEndpoint(), "c", "https://x", TokenType.MTLS_POP)));
            ests.enqueue(TokenServer.json(200, "{\"token_type\":\"mtls_pop\",\"access_token\":\"" + OPAQUE_TOKEN + "\"}"));
            record(assertThrows(TokenEndpointException.class,
                    () -> tokens.requestToken(ests.tokenEndpoint(), "c", "https://x", TokenType.MTLS_POP)));
            ests.enqueue(TokenServer.json(200, OPAQUE_TOKEN));
            record(assertThrows(TokenEndpointException.class,
                    () -> tokens.requestToken(ests.tokenEndpoint(), "c", "https://x", TokenType.MTLS_POP)));
            ests.enqueue(TokenServer.json(500, "{\"error\":\"server_error\",\"error_description\":\"echo "
                    + ACCESS_TOKEN + "\",\"access_token\":\"" + OPAQUE_TOKEN + "\"}"));
            ests.enqueue(TokenServer.json(400, "access_token=" + OPAQUE_TOKEN + "&error=invalid_request"));
            record(assertThrows(TokenEndpointException.class,
                    () -> tokens.requestToken(ests.tokenEndpoint(), "c", "https://x", TokenType.MTLS_POP)));
        }
        System.err.flush();
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertTrue(logs.contains("IMDS issuecredential attempt 2"), "logs were captured: " + logs);
        assertTrue(logs.contains("token endpoint 127.0.0.1"), "token logs were captured");
        String everything = logs + "\n" + String.join("\n", messages);
        for (String secret : List.of(ATTESTATION, ACCESS_TOKEN, OPAQUE_TOKEN, "opaque", "csr-bytes-that-must-not-be-logged",
                Base64.getEncoder().encodeToString(CSR).substring(0, 40), "eyJ")) {
            assertFalse(everything.contains(secret), "leaked " + secret + " in:\n" + everything);
        }
    }

    /** OkHttp quotes a garbled status line in its exception: a server's text reaching messages, causes and the retry log. */
    @Test
    void aServersGarbledStatusLineIsRedactedInMessagesCausesAndLogs() throws Exception {
        try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                for (int i = 0; i < 4; i++) {
                    try (java.net.Socket s = raw.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        s.getOutputStream().write(("HTTP/1.1 20x access_token=" + OPAQUE_TOKEN + " " + ACCESS_TOKEN + "\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            server.setDaemon(true);
            server.start();
            FakeTime time = new FakeTime();
            ImdsClient client = ImdsClient.builder().endpoint("http://127.0.0.1:" + raw.getLocalPort()).sleeper(time).time(time).build();
            ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(IdentitySelector.systemAssigned()));
            record(e);
            assertTrue(e.getMessage().contains("Unexpected status line"), e.getMessage());
        }
        System.err.flush();
        String everything = captured.toString(StandardCharsets.UTF_8) + "\n" + String.join("\n", messages);
        assertTrue(everything.contains("IMDS getplatformmetadata attempt 2"), "logs were captured: " + everything);
        for (String secret : List.of(OPAQUE_TOKEN, "opaque", "eyJ")) {
            assertFalse(everything.contains(secret), "leaked " + secret + " in:\n" + everything);
        }
    }

    private void record(Exception e) {
        messages.add(e.getMessage());
        if (e instanceof ImdsException imds && imds.bodyExcerpt() != null) {
            messages.add(imds.bodyExcerpt());
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            messages.add(String.valueOf(c.getMessage()));
        }
    }
}
