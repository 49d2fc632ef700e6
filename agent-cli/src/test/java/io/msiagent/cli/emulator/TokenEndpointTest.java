package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import javax.net.ssl.SSLException;
import okhttp3.FormBody;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The mutual-TLS token endpoint: who gets in, what the token says, ESTS-style errors. */
class TokenEndpointTest {
    static final EmulatedIdentity UAMI = EmulatedIdentity.randomUserAssigned("api");
    static final String SCOPE = "https://management.azure.com/.default";

    static ImdsEmulator emulator;
    static EmulatorClient client;
    static KeyPair keys;
    static X509Certificate systemCert;

    @BeforeAll
    static void start() throws IOException {
        emulator = ImdsEmulator.start(EmulatorConfig.builder().addUserAssigned(UAMI).build());
        client = new EmulatorClient(emulator);
        keys = TestCredentials.rsa2048();
        systemCert = client.issueCertificate(keys, emulator.systemAssigned(), null, null);
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
    void mtlsPopTokenIsBoundToTheClientCertificate() throws Exception {
        EmulatorClient.Reply r = client.token(client.mtlsClient(keys, systemCert),
                EmulatorClient.tokenForm(emulator.systemAssigned().clientId(), SCOPE, "mtls_pop"));
        assertEquals(200, r.code(), r.body());
        JsonNode j = r.json();
        assertEquals("mtls_pop", j.get("token_type").asText());
        assertEquals(3599, j.get("expires_in").asInt());
        assertEquals("https://management.azure.com", j.get("resource").asText());

        JsonNode claims = verifiedClaims(j.get("access_token").asText());
        assertEquals(x5tS256(systemCert), claims.get("cnf").get("x5t#S256").asText());
        assertEquals("https://management.azure.com", claims.get("aud").asText());
        assertEquals(emulator.tenantId(), claims.get("tid").asText());
        assertEquals(emulator.systemAssigned().clientId(), claims.get("appid").asText());
        assertEquals(emulator.systemAssigned().clientId(), claims.get("sub").asText());
        assertEquals(emulator.systemAssigned().clientId(), claims.get("oid").asText());
        long now = Instant.now().getEpochSecond();
        assertTrue(Math.abs(claims.get("iat").asLong() - now) < 60);
        assertEquals(claims.get("iat").asLong() + 3599, claims.get("exp").asLong());
        assertEquals(claims.get("iat").asLong(), claims.get("nbf").asLong());
        assertEquals(1, emulator.stats().tokensIssued(emulator.systemAssigned().clientId()));
        assertEquals(1, emulator.stats().calls(EmulatorPath.TOKEN));
    }

    @Test
    void bearerWhenAskedHasNoCnf() throws Exception {
        EmulatorClient.Reply r = client.token(client.mtlsClient(keys, systemCert),
                EmulatorClient.tokenForm(emulator.systemAssigned().clientId(), SCOPE, "bearer"));
        assertEquals(200, r.code(), r.body());
        assertEquals("Bearer", r.json().get("token_type").asText());
        assertFalse(verifiedClaims(r.json().get("access_token").asText()).has("cnf"));
    }

    @Test
    void userAssignedIdentityUsesItsOwnCertificate() throws Exception {
        KeyPair uamiKeys = TestCredentials.rsa2048();
        X509Certificate uamiCert = client.issueCertificate(uamiKeys, UAMI, "object_id=" + UAMI.objectId(), null);
        OkHttpClient mtls = client.mtlsClient(uamiKeys, uamiCert);
        EmulatorClient.Reply ok = client.token(mtls, EmulatorClient.tokenForm(UAMI.clientId(), SCOPE, "mtls_pop"));
        assertEquals(200, ok.code(), ok.body());
        assertEquals(UAMI.clientId(), verifiedClaims(ok.json().get("access_token").asText()).get("appid").asText());

        EmulatorClient.Reply mismatch = client.token(mtls,
                EmulatorClient.tokenForm(emulator.systemAssigned().clientId(), SCOPE, "mtls_pop"));
        assertEquals(401, mismatch.code());
        assertEquals("invalid_client", mismatch.error());
        assertTrue(mismatch.description().startsWith("AADSTS700027:"), mismatch.description());
        assertEquals(700027, mismatch.json().get("error_codes").get(0).asInt());
        assertEquals(1, emulator.stats().tokensIssued());
    }

    @Test
    void withoutClientCertificateTheHandshakeIsRefused() {
        OkHttpClient noCert = client.mtlsClient(null);
        assertTlsAlert(() -> client.token(noCert,
                EmulatorClient.tokenForm(emulator.systemAssigned().clientId(), SCOPE, "mtls_pop")));
        assertEquals(0, emulator.stats().calls(EmulatorPath.TOKEN), "the request never reached the endpoint");
    }

    @Test
    void certificateFromAnotherCaIsRefused() {
        TestCredentials otherCa = TestCredentials.newCa();
        KeyPair k = TestCredentials.rsa2048();
        Instant now = Instant.now();
        X509Certificate foreign = otherCa.issue(k.getPublic(), now.minusSeconds(60), now.plusSeconds(3600));
        assertTlsAlert(() -> client.token(client.mtlsClient(k, foreign),
                EmulatorClient.tokenForm(TestCredentials.CLIENT_ID, SCOPE, "mtls_pop")));
        assertEquals(0, emulator.stats().calls(EmulatorPath.TOKEN));
    }

    @Test
    void expiredCertificateIsRefusedAtTheHandshake() throws IOException {
        emulator.faults().next(Fault.expiredCertificate());
        KeyPair k = TestCredentials.rsa2048();
        X509Certificate expired = client.issueCertificate(k, emulator.systemAssigned(), null, null);
        assertTrue(expired.getNotAfter().toInstant().isBefore(Instant.now()));
        assertTlsAlert(() -> client.token(client.mtlsClient(k, expired),
                EmulatorClient.tokenForm(emulator.systemAssigned().clientId(), SCOPE, "mtls_pop")));
    }

    /**
     * A refused client is told so with a TLS alert, as by a real mutual-TLS server, whichever
     * protocol version: a connection closed without one reads like a network failure, and clients
     * retry it quietly. (With TLS 1.3 the client's handshake completes before the server has checked
     * its certificate, so the alert arrives at the first read.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void refusedClientCertificatesGetATlsAlert(String protocol) throws IOException {
        assertTlsAlert(client.handshakeAndRead(client.clientTls(null), protocol));

        TestCredentials otherCa = TestCredentials.newCa();
        KeyPair k = TestCredentials.rsa2048();
        Instant now = Instant.now();
        X509Certificate foreign = otherCa.issue(k.getPublic(), now.minusSeconds(60), now.plusSeconds(3600));
        assertTlsAlert(client.handshakeAndRead(client.clientTls(k, foreign), protocol));

        emulator.faults().next(Fault.expiredCertificate()).next(Fault.futureCertificate());
        X509Certificate expired = client.issueCertificate(k, emulator.systemAssigned(), null, null);
        assertTlsAlert(client.handshakeAndRead(client.clientTls(k, expired), protocol));
        X509Certificate future = client.issueCertificate(k, emulator.systemAssigned(), null, null);
        assertTlsAlert(client.handshakeAndRead(client.clientTls(k, future), protocol));

        emulator.faults().next(Fault.tlsRefusal());
        assertTlsAlert(client.handshakeAndRead(client.clientTls(keys, systemCert), protocol));
        assertEquals(0, emulator.stats().calls(EmulatorPath.TOKEN), "no request reached the endpoint");

        assertEquals(null, client.handshakeAndRead(client.clientTls(keys, systemCert), protocol),
                "an accepted certificate gets a reply");
    }

    static void assertTlsAlert(Executable call) {
        assertTlsAlert(assertThrows(IOException.class, call));
    }

    /** The JDK client reports an alert it received as an SSLException "Received fatal alert: <name>". */
    static void assertTlsAlert(IOException e) {
        assertInstanceOf(SSLException.class, e, () -> "a TLS alert, not " + e);
        assertTrue(e.getMessage().startsWith("Received fatal alert: "), () -> "a TLS alert, not " + e);
    }

    @Test
    void formErrorsAreEstsJson() throws IOException {
        OkHttpClient mtls = client.mtlsClient(keys, systemCert);
        String id = emulator.systemAssigned().clientId();
        assertEsts(client.token(mtls, EmulatorClient.tokenForm(id, "https://management.azure.com", "mtls_pop")),
                400, "invalid_scope", 1002012);
        assertEsts(client.token(mtls, new FormBody.Builder().add("client_id", id).add("scope", SCOPE)
                .add("grant_type", "authorization_code").build()), 400, "unsupported_grant_type", 70003);
        assertEsts(client.token(mtls, new FormBody.Builder().add("client_id", id).add("scope", SCOPE).build()),
                400, "invalid_request", 900144);
        assertEsts(client.token(mtls, EmulatorClient.tokenForm("12345678-0000-0000-0000-000000000000", SCOPE,
                "mtls_pop")), 400, "unauthorized_client", 700016);
        assertEsts(client.token(mtls, EmulatorClient.tokenForm(id, SCOPE, "pop")), 400, "invalid_request", 901002);
        assertEsts(EmulatorClient.token(mtls, emulator.tokenEndpointBase() + "/other-tenant/oauth2/v2.0/token",
                EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")), 400, "invalid_request", 90002);
        assertEquals(0, emulator.stats().tokensIssued());
    }

    @Test
    void popRequiresAnAttestedCertificateWhenConfigured() throws IOException {
        try (ImdsEmulator strict = ImdsEmulator.start(EmulatorConfig.builder().requireAttestationForPop(true).build())) {
            EmulatorClient c = new EmulatorClient(strict);
            String id = strict.systemAssigned().clientId();
            KeyPair plainKeys = TestCredentials.rsa2048();
            X509Certificate plain = c.issueCertificate(plainKeys, strict.systemAssigned(), null, null);
            OkHttpClient plainClient = c.mtlsClient(plainKeys, plain);
            assertEsts(c.token(plainClient, EmulatorClient.tokenForm(id, SCOPE, "mtls_pop")), 400, "invalid_request",
                    1000617);
            assertEquals(200, c.token(plainClient, EmulatorClient.tokenForm(id, SCOPE, "bearer")).code());

            KeyPair attestedKeys = TestCredentials.rsa2048();
            X509Certificate attested = c.issueCertificate(attestedKeys, strict.systemAssigned(), null, "eyJ.maa.jwt");
            EmulatorClient.Reply pop = c.token(c.mtlsClient(attestedKeys, attested),
                    EmulatorClient.tokenForm(id, SCOPE, "mtls_pop"));
            assertEquals(200, pop.code(), pop.body());
            assertEquals("mtls_pop", pop.json().get("token_type").asText());
        }
    }

    static void assertEsts(EmulatorClient.Reply r, int status, String error, int code) {
        assertEquals(status, r.code(), r.body());
        assertEquals(error, r.error(), r.body());
        assertTrue(r.description().startsWith("AADSTS" + code + ": "), r.description());
        assertEquals(code, r.json().get("error_codes").get(0).asInt());
    }

    /** Checks the RS256 signature with the emulator CA key and returns the claims. */
    static JsonNode verifiedClaims(String jwt) throws Exception {
        String[] parts = jwt.split("\\.");
        assertEquals(3, parts.length);
        Base64.Decoder d = Base64.getUrlDecoder();
        JsonNode header = EmulatorClient.JSON.readTree(d.decode(parts[0]));
        assertEquals("RS256", header.get("alg").asText());
        assertEquals(x5tS256(emulator == null ? null : emulator.caCertificate()), header.get("kid").asText());
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initVerify(emulator.caCertificate().getPublicKey());
        s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(s.verify(d.decode(parts[2])), "JWT signature");
        return EmulatorClient.JSON.readTree(d.decode(parts[1]));
    }

    static String x5tS256(X509Certificate cert) throws Exception {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(
                MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    }
}
