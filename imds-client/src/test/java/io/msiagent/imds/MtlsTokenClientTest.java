package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.HttpUrl;
import okhttp3.tls.HandshakeCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The token request over real TLS handshakes with a required client certificate. */
class MtlsTokenClientTest {
    private static final String CLIENT_ID = "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3";
    private static final String TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJjbmYiOnsieDV0I1MyNTYiOiJhYmMifX0.c2lnbmF0dXJlLXZhbHVl";

    private TokenServer ests;
    private FakeTime time;

    @BeforeEach
    void start() throws IOException {
        ests = new TokenServer();
        time = new FakeTime();
    }

    @AfterEach
    void stop() {
        ests.close();
    }

    private MtlsTokenClient client(boolean withClientCertificate) {
        HandshakeCertificates tls = ests.clientTls(withClientCertificate);
        return MtlsTokenClient.builder().tls(tls.sslSocketFactory(), tls.trustManager()).sleeper(time).time(time)
                .jitter(() -> 0.0).build();
    }

    private static String tokenReply(String tokenType, String expires) {
        return "{\"token_type\":\"" + tokenType + "\"," + expires + ",\"access_token\":\"" + TOKEN
                + "\",\"resource\":\"https://management.azure.com/\"}";
    }

    @Test
    void expiryIsReckonedOnTheCallersClock() throws Exception {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":\"3599\"")));
        java.time.Instant callers = java.time.Instant.parse("2031-01-01T00:00:00Z");
        HandshakeCertificates tls = ests.clientTls(true);
        MtlsTokenClient c = MtlsTokenClient.builder().tls(tls.sslSocketFactory(), tls.trustManager())
                .clock(java.time.Clock.fixed(callers, java.time.ZoneOffset.UTC)).build();
        AccessToken t = c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://management.azure.com", TokenType.MTLS_POP);
        assertEquals(callers.plusSeconds(3599), t.expiresOn());
    }

    @Test
    void postsTheFormOverMutualTlsAndBindsTheTokenToThePresentedCertificate() throws Exception {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":\"3599\"")));

        AccessToken t = client(true).requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://management.azure.com",
                TokenType.MTLS_POP);

        assertEquals(TOKEN, t.token());
        assertEquals(TokenType.MTLS_POP, t.tokenType());
        assertEquals(FakeTime.START.plusSeconds(3599), t.expiresOn());
        assertEquals("mtls_pop " + TOKEN, t.authorizationHeader());

        RecordedRequest r = ests.take();
        assertEquals("POST", r.getMethod());
        assertEquals("/" + TokenServer.TENANT + "/oauth2/v2.0/token", r.getUrl().encodedPath());
        assertNull(r.getUrl().encodedQuery());
        assertTrue(r.getHeaders().get("client-request-id")
                .matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
        assertEquals("true", r.getHeaders().get("return-client-request-id"));
        assertEquals("application/x-www-form-urlencoded", r.getHeaders().get("Content-Type"));
        assertEquals("client_id=" + CLIENT_ID + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
                + "&grant_type=client_credentials&token_type=mtls_pop", r.getBody().utf8());
        HttpUrl form = HttpUrl.get("http://x/?" + r.getBody().utf8());
        assertEquals("https://management.azure.com/.default", form.queryParameter("scope"));

        // The server saw exactly this client certificate, and the token's x5t#S256 is its hash.
        List<java.security.cert.Certificate> seenByServer = r.getHandshake().peerCertificates();
        assertEquals(ests.clientCert.certificate(), seenByServer.get(0));
        assertEquals(TokenServer.x5tS256(seenByServer.get(0)), t.x5tS256());
        assertEquals(43, t.x5tS256().length(), "base64url of 32 bytes, no padding");
        assertFalse(t.toString().contains(TOKEN));
    }

    @ParameterizedTest
    @CsvSource({
        "https://management.azure.com, https://management.azure.com/.default",
        "https://management.azure.com/, https://management.azure.com/.default",
        "https://graph.microsoft.com/.default, https://graph.microsoft.com/.default",
        "https://vault.azure.net//, https://vault.azure.net/.default",
        "api://d3adb33f/.default/, api://d3adb33f/.default/.default",
        "'  https://storage.azure.com  ', https://storage.azure.com/.default"})
    void scopeIsTheResourcePlusDefault(String resource, String scope) {
        assertEquals(scope, MtlsTokenClient.scope(resource));
    }

    @Test
    void blankArgumentsAndPlainHttpAreRefused() {
        MtlsTokenClient c = client(true);
        assertThrows(IllegalArgumentException.class, () -> c.requestToken("http://127.0.0.1/t/oauth2/v2.0/token",
                CLIENT_ID, "https://x", TokenType.MTLS_POP));
        assertThrows(IllegalArgumentException.class, () -> c.requestToken("not a url", CLIENT_ID, "https://x",
                TokenType.MTLS_POP));
        assertThrows(IllegalArgumentException.class, () -> c.requestToken(ests.tokenEndpoint(), " ", "https://x",
                TokenType.MTLS_POP));
        assertThrows(IllegalArgumentException.class, () -> c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "/.default",
                TokenType.MTLS_POP));
        assertThrows(IllegalStateException.class, () -> MtlsTokenClient.builder().build());
        assertEquals(0, ests.server.getRequestCount());
    }

    @Test
    void expiresInMayBeANumberAndExpiresOnIsTheFallback() {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":600")));
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_on\":\"1900000000\"")));
        MtlsTokenClient c = client(true);

        assertEquals(FakeTime.START.plusSeconds(600),
                c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP).expiresOn());
        assertEquals(java.time.Instant.ofEpochSecond(1_900_000_000L),
                c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP).expiresOn());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"expires_in\":0", "\"expires_in\":-100", "\"expires_on\":1000", "\"expires_in\":9223372036854775807",
            "\"expires_on\":9223372036854775807"})
    void aTokenExpiredOnArrivalOrWithAnExpiryOutOfRangeIsATypedError(String expiry) {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", expiry)));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertTrue(e.getMessage().contains(expiry.substring(1, expiry.indexOf('"', 1))), e.getMessage());
        assertEquals(200, e.status());
    }

    @Test
    void aReplyWithoutExpiryIsMalformed() {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"ext_expires_in\":600")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertTrue(e.getMessage().contains("neither 'expires_in' nor 'expires_on'"), e.getMessage());
        assertEquals(200, e.status());
    }

    @Test
    void tokenTypeIsComparedCaseInsensitively() {
        ests.enqueue(TokenServer.json(200, tokenReply("MTLS_POP", "\"expires_in\":60")));
        ests.enqueue(TokenServer.json(200, tokenReply("Bearer", "\"expires_in\":60")));
        MtlsTokenClient c = client(true);

        assertEquals(TokenType.MTLS_POP, c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x",
                TokenType.MTLS_POP).tokenType());
        AccessToken bearer = c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.BEARER);
        assertEquals(TokenType.BEARER, bearer.tokenType());
        assertEquals("Bearer " + TOKEN, bearer.authorizationHeader());
    }

    @Test
    void aBearerAnswerToAPopRequestIsAnError() throws Exception {
        ests.enqueue(TokenServer.json(200, tokenReply("Bearer", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals("token_type_mismatch", e.error());
        assertEquals(200, e.status());
        assertEquals("ests-200", e.serverRequestId());
        assertEquals(ests.take().getHeaders().get("client-request-id"), e.clientRequestId());
        assertTrue(e.getMessage().contains("token_type is 'Bearer', asked for 'mtls_pop'"), e.getMessage());
        assertFalse(e.getMessage().contains(TOKEN));
    }

    @Test
    void aMissingTokenTypeIsAnError() {
        ests.enqueue(TokenServer.json(200, "{\"access_token\":\"" + TOKEN + "\",\"expires_in\":60}"));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals("token_type_missing", e.error());
    }

    @Test
    void anOAuthErrorCarriesTheAadstsCodeAndIsNotRetried() throws Exception {
        ests.enqueue(TokenServer.json(401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS1000613: The"
                + " attestation token contains invalid Jku header. Trace ID: 1\",\"error_codes\":[1000613],"
                + "\"trace_id\":\"tr-1\",\"correlation_id\":\"c-1\"}"));
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(401, e.status());
        assertEquals("invalid_client", e.error());
        assertEquals("AADSTS1000613", e.aadstsCode());
        assertEquals("ests-401", e.serverRequestId());
        assertEquals(ests.take().getHeaders().get("client-request-id"), e.clientRequestId());
        assertTrue(e.getMessage().contains("HTTP 401 invalid_client (AADSTS1000613)"), e.getMessage());
        assertTrue(e.getMessage().contains("invalid Jku header"), e.getMessage());
        assertTrue(e.getMessage().contains("trace_id tr-1"), e.getMessage());
        assertTrue(e.getMessage().contains("get a new credential from IMDS"), e.getMessage());
        assertEquals(1, ests.server.getRequestCount());
        assertEquals(List.of(), time.sleeps());
    }

    @Test
    void theAadstsCodeIsFoundInTheDescriptionWhenErrorCodesAreMissing() {
        ests.enqueue(TokenServer.json(400, "{\"error\":\"invalid_scope\",\"error_description\":\"AADSTS70011: The"
                + " provided value for the input parameter 'scope' is not valid.\"}"));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals("AADSTS70011", e.aadstsCode());
        assertEquals("invalid_scope", e.error());
    }

    @Test
    void aNonJsonErrorStillGivesStatusAndExcerpt() {
        ests.enqueue(new MockResponse.Builder().code(403).body("<html>Forbidden by policy</html>").build());

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(403, e.status());
        assertNull(e.error());
        assertNull(e.aadstsCode());
        assertTrue(e.getMessage().contains("Forbidden by policy"), e.getMessage());
    }

    @Test
    void oneRetryOnServerError() {
        ests.enqueue(TokenServer.json(503, "{\"error\":\"temporarily_unavailable\"}"));
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        client(true).requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP);

        assertEquals(2, ests.server.getRequestCount());
        assertEquals(List.of(1000L), time.sleepMillis());
    }

    @Test
    void onlyOneRetry() {
        ests.enqueue(TokenServer.json(500, "{}"));
        ests.enqueue(TokenServer.json(502, "{}"));
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(502, e.status());
        assertEquals(2, ests.server.getRequestCount());
        assertTrue(e.getMessage().contains("after 2 attempt(s)"), e.getMessage());
    }

    @Test
    void retryAfterOnAServerErrorIsHonouredUpToSixtySeconds() {
        ests.enqueue(new MockResponse.Builder(TokenServer.json(503, "{}")).addHeader("Retry-After", "5").build());
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        client(true).requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP);

        assertEquals(List.of(5000L), time.sleepMillis());
    }

    /** OkHttp would repeat a 503 with Retry-After: 0 itself, and throw NumberFormatException on a value past 2^31-1. */
    @ParameterizedTest
    @ValueSource(strings = {"0", "2147483648"})
    void aServiceUnavailableWithAnyRetryAfterGetsExactlyOneRetry(String retryAfter) {
        ests.enqueue(new MockResponse.Builder(TokenServer.json(503, "{}")).addHeader("Retry-After", retryAfter).build());
        ests.enqueue(new MockResponse.Builder(TokenServer.json(503, "{}")).addHeader("Retry-After", retryAfter).build());
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(503, e.status());
        assertEquals(2, ests.server.getRequestCount());
    }

    @Test
    void throttlingIsNotRetried() {
        ests.enqueue(TokenServer.json(429, "{\"error\":\"too_many_requests\"}"));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(true)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(429, e.status());
        assertEquals(1, ests.server.getRequestCount());
    }

    @Test
    void withoutAClientCertificateTheHandshakeFails() {
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(false)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(-1, e.status());
        assertTrue(e.getMessage().startsWith("token request to " + ests.tokenEndpoint() + " failed: no reply ("),
                e.getMessage());
        assertTrue(e.getCause() instanceof IOException, String.valueOf(e.getCause()));
    }

    @Test
    void aReplyOverAConnectionWithoutClientCertificateIsRefused() {
        ests.server.noClientAuth();
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        TokenEndpointException e = assertThrows(TokenEndpointException.class, () -> client(false)
                .requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(200, e.status());
        assertTrue(e.getMessage().contains("no client certificate was presented"), e.getMessage());
        assertFalse(e.getMessage().contains(TOKEN));
    }

    @Test
    void anUntrustedServerFailsTheHandshakeWithoutRetry() {
        HandshakeCertificates other = new HandshakeCertificates.Builder()
                .addTrustedCertificate(new okhttp3.tls.HeldCertificate.Builder().certificateAuthority(0).build()
                        .certificate())
                .heldCertificate(ests.clientCert).build();
        MtlsTokenClient c = MtlsTokenClient.builder().tls(other.sslSocketFactory(), other.trustManager()).sleeper(time)
                .time(time).build();

        TokenEndpointException e = assertThrows(TokenEndpointException.class,
                () -> c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(-1, e.status());
        assertTrue(e.getCause() instanceof javax.net.ssl.SSLHandshakeException, String.valueOf(e.getCause()));
        assertTrue(e.getMessage().contains("TLS handshake failed"), e.getMessage());
        assertEquals(List.of(), time.sleeps());
    }

    @Test
    void theDeadlineBoundsTheTokenCallToo() {
        ests.enqueue(new MockResponse.Builder().code(200).onResponseStart(mockwebserver3.SocketEffect.Stall.INSTANCE)
                .build());
        HandshakeCertificates tls = ests.clientTls(true);
        MtlsTokenClient c = MtlsTokenClient.builder().tls(tls.sslSocketFactory(), tls.trustManager()).sleeper(time)
                .callDeadline(Duration.ofMillis(700)).build();

        TokenEndpointException e = assertThrows(TokenEndpointException.class,
                () -> c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP));

        assertEquals(-1, e.status());
        assertTrue(e.getMessage().contains("within the call deadline of 700 ms"), e.getMessage());
        assertEquals(List.of(), time.sleeps());
    }

    @Test
    void afterAKeyManagerRotationTheNextTokenIsBoundToTheNewCertificate() throws Exception {
        okhttp3.tls.HeldCertificate second = new okhttp3.tls.HeldCertificate.Builder().signedBy(ests.ca)
                .commonName(CLIENT_ID).build();
        HandshakeCertificates first = ests.clientTls(true);
        HandshakeCertificates next = new HandshakeCertificates.Builder().addTrustedCertificate(ests.ca.certificate())
                .heldCertificate(second).build();
        RotatingKeyManager keys = new RotatingKeyManager(first.keyManager());
        javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
        ssl.init(new javax.net.ssl.KeyManager[] {keys}, new javax.net.ssl.TrustManager[] {first.trustManager()}, null);
        MtlsTokenClient c = MtlsTokenClient.builder().tls(ssl.getSocketFactory(), first.trustManager()).sleeper(time)
                .time(time).build();
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));
        ests.enqueue(TokenServer.json(200, tokenReply("mtls_pop", "\"expires_in\":60")));

        AccessToken before = c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP);
        keys.rotateTo(next.keyManager());
        AccessToken after = c.requestToken(ests.tokenEndpoint(), CLIENT_ID, "https://x", TokenType.MTLS_POP);

        assertEquals(TokenServer.x5tS256(ests.clientCert.certificate()), before.x5tS256());
        assertEquals(TokenServer.x5tS256(second.certificate()), after.x5tS256());
        // What the server saw: the old certificate, then the new one (no pooled connection, no resumed session).
        assertEquals(ests.clientCert.certificate(), ests.take().getHandshake().peerCertificates().get(0));
        assertEquals(second.certificate(), ests.take().getHandshake().peerCertificates().get(0));
    }

    /** A key manager whose certificate can be swapped, as core's rotating key manager does. */
    private static final class RotatingKeyManager extends javax.net.ssl.X509ExtendedKeyManager {
        private volatile javax.net.ssl.X509KeyManager current;

        RotatingKeyManager(javax.net.ssl.X509KeyManager initial) {
            current = initial;
        }

        void rotateTo(javax.net.ssl.X509KeyManager next) {
            current = next;
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return current.getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket s) {
            return current.chooseClientAlias(keyType, issuers, s);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers,
                                              javax.net.ssl.SSLEngine engine) {
            return current.chooseClientAlias(keyType, issuers, null);
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket s) {
            return null;
        }

        @Override
        public java.security.cert.X509Certificate[] getCertificateChain(String alias) {
            return current.getCertificateChain(alias);
        }

        @Override
        public java.security.PrivateKey getPrivateKey(String alias) {
            return current.getPrivateKey(alias);
        }
    }
}
