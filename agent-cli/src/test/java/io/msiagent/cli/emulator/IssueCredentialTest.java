package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.security.auth.x500.X500Principal;
import okhttp3.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** issuecredential: strict CSR checks, the issued certificate, attestation requirement. */
class IssueCredentialTest {
    static final EmulatedIdentity UAMI = EmulatedIdentity.randomUserAssigned("worker");
    static final KeyPair KEYS = TestCredentials.rsa2048();

    static ImdsEmulator emulator;
    static EmulatorClient client;

    @BeforeAll
    static void start() {
        emulator = ImdsEmulator.start(EmulatorConfig.builder().addUserAssigned(UAMI)
                .certLifetime(Duration.ofHours(2)).build());
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
    void issuesAClientCertificateForTheCsrKey() throws Exception {
        EmulatorClient.Reply r = client.issue(null, EmulatorClient.issueBody(
                client.csr(KEYS, emulator.systemAssigned()).base64(), null));
        assertEquals(200, r.code(), r.body());
        assertTrue(r.headers().get("Server").startsWith("IMDS/"));
        assertNotNull(r.headers().get("x-ms-request-id"));
        JsonNode j = r.json();
        assertEquals(emulator.systemAssigned().clientId(), j.get("client_id").asText());
        assertEquals(emulator.tenantId(), j.get("tenant_id").asText());
        assertEquals("SystemAssigned", j.get("identity_type").asText());
        assertEquals(emulator.tokenEndpointBase(), j.get("mtls_authentication_endpoint").asText());
        assertTrue(j.get("mtls_authentication_endpoint").asText().startsWith("https://127.0.0.1:"));

        X509Certificate cert = EmulatorClient.certificate(j.get("certificate").asText());
        cert.verify(emulator.caCertificate().getPublicKey());
        assertEquals(emulator.caCertificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
        assertArrayEquals(KEYS.getPublic().getEncoded(), cert.getPublicKey().getEncoded());
        assertEquals(new X500Principal(client.csr(KEYS, emulator.systemAssigned()).subject().getEncoded()),
                cert.getSubjectX500Principal());
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
        assertTrue(cert.getKeyUsage()[0], "digitalSignature");
        assertEquals(-1, cert.getBasicConstraints());
        assertEquals(Duration.ofHours(2), Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()));
        assertEquals(1, emulator.stats().certificatesIssued());
        assertEquals(1, emulator.stats().certificatesIssued(emulator.systemAssigned().clientId()));
    }

    @Test
    void serialNumbersDiffer() throws IOException {
        X509Certificate a = client.issueCertificate(KEYS, emulator.systemAssigned(), null, null);
        X509Certificate b = client.issueCertificate(KEYS, emulator.systemAssigned(), null, null);
        assertTrue(!a.getSerialNumber().equals(b.getSerialNumber()));
    }

    @Test
    void userAssignedIdentityGetsItsOwnCertificate() throws IOException {
        EmulatorClient.Reply r = client.issue("mi_res_id=" + UAMI.resourceId(),
                EmulatorClient.issueBody(client.csr(KEYS, UAMI).base64(), null));
        assertEquals(200, r.code(), r.body());
        assertEquals(UAMI.clientId(), r.json().get("client_id").asText());
        assertEquals("UserAssigned", r.json().get("identity_type").asText());
        assertEquals(1, emulator.stats().certificatesIssued(UAMI.clientId()));
        assertEquals(0, emulator.stats().certificatesIssued(emulator.systemAssigned().clientId()));
    }

    @Test
    void csrForTheSystemIdentityIsRefusedOnTheUserAssignedSelector() throws IOException {
        EmulatorClient.Reply r = client.issue("client_id=" + UAMI.clientId(),
                EmulatorClient.issueBody(client.csr(KEYS, emulator.systemAssigned()).base64(), null));
        assertEquals(400, r.code());
        assertTrue(r.description().contains("CN"), r.description());
    }

    @Test
    void cnFirstSubjectOrderIsAccepted() throws IOException {
        EmulatorClient.Reply r = client.issue(null, EmulatorClient.issueBody(
                client.csr(KEYS, emulator.systemAssigned()).cnFirst().base64(), null));
        assertEquals(200, r.code(), r.body());
    }

    static Stream<Arguments> defects() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(1024);
        KeyPair rsa1024 = g.generateKeyPair();
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        KeyPair p256 = ec.generateKeyPair();
        return Stream.of(
                defect("PKCS#1 v1.5 signature", c -> c.pkcs1(), "RSASSA-PSS"),
                defect("salt 20", c -> c.pss(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 20, 1)),
                        "salt length must be 32"),
                defect("MGF1 with SHA-1", c -> c.pss(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA1, 32, 1)),
                        "MGF1 with SHA-256"),
                defect("SHA-384 hash", c -> c.pss(new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 32, 1))
                        , "hash must be SHA-256"),
                defect("wrong CN", c -> c.clientId("00000000-0000-0000-0000-000000000001"), "CN"),
                defect("wrong DC", c -> c.tenantId("00000000-0000-0000-0000-000000000002"), "DC"),
                defect("missing cuId attribute", c -> c.withoutCuId(), "lacks the compute unit attribute"),
                defect("wrong cuId JSON", c -> c.cuIdJson("{\"vmId\":\"other-vm\"}"), "1.3.6.1.4.1.311.90.2.10"),
                defect("non-compact cuId JSON", c -> c.cuIdJson("{ \"vmId\": \"" + EmulatorConfig.DEFAULT_VM_ID + "\" }"),
                        "1.3.6.1.4.1.311.90.2.10"),
                defect("extra attribute", c -> c.extraAttribute(), "unexpected attribute"),
                defect("RSA-1024", c -> c.keys(rsa1024), "at least 2048"),
                defect("EC key", c -> c.keys(p256).pkcs1().pss(null), "RSASSA-PSS"),
                defect("bad signature bytes", c -> c.corruptSignature(), "signature does not verify"));
    }

    private static Arguments defect(String name, UnaryOperator<TestCsr> mutation, String expected) {
        return Arguments.of(name, mutation, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("defects")
    void defectiveCsrIs400WithAReason(String name, UnaryOperator<TestCsr> mutation, String expected) throws IOException {
        TestCsr csr = mutation.apply(client.csr(KEYS, emulator.systemAssigned()));
        String base64 = name.equals("EC key") ? ecCsr(csr) : csr.base64();
        EmulatorClient.Reply r = client.issue(null, EmulatorClient.issueBody(base64, null));
        assertEquals(400, r.code(), r.body());
        assertEquals("invalid_request", r.error());
        assertTrue(r.description().contains(expected), name + ": " + r.description());
        assertEquals(0, emulator.stats().certificatesIssued());
    }

    /** An EC CSR must be signed with an EC algorithm; the emulator refuses it for not being RSASSA-PSS. */
    private static String ecCsr(TestCsr csr) {
        try {
            var f = TestCsr.class.getDeclaredField("signatureAlgorithm");
            f.setAccessible(true);
            f.set(csr, "SHA256withECDSA");
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
        return csr.base64();
    }

    @Test
    void malformedBodiesAre400() throws IOException {
        assertEquals("csr is not standard base64: Illegal base64 character 2a".split(":")[0],
                client.issue(null, EmulatorClient.issueBody("***", null)).description().split(":")[0]);
        assertTrue(client.issue(null, EmulatorClient.issueBody("AAAA", null)).description().contains("PKCS#10"));
        assertTrue(client.issue(null, EmulatorClient.JSON.createObjectNode()).description().contains("csr"));
        EmulatorClient.Reply notJson = EmulatorClient.execute(client.http, new okhttp3.Request.Builder()
                .url(client.url(ImdsHandler.ISSUE_PATH, "cred-api-version=2.0").build())
                .headers(Headers.of("Metadata", "true"))
                .post(okhttp3.RequestBody.create("csr=abc", okhttp3.MediaType.get("text/plain"))).build());
        assertEquals(400, notJson.code());
        assertEquals("invalid_request", notJson.error());
    }

    @Test
    void issueWithoutMetadataHeaderIs400() throws IOException {
        EmulatorClient.Reply r = client.postJson(ImdsHandler.ISSUE_PATH + "?cred-api-version=2.0",
                EmulatorClient.issueBody(client.csr(KEYS, emulator.systemAssigned()).base64(), null).toString());
        assertEquals(400, r.code());
        assertEquals("Required metadata header not specified", r.description());
    }

    @Test
    void requiredAttestationRefusesMissingAndEmptyTokens() throws IOException {
        try (ImdsEmulator strict = ImdsEmulator.start(EmulatorConfig.builder().requireAttestation(true).build())) {
            EmulatorClient c = new EmulatorClient(strict);
            String csr = c.csr(KEYS, strict.systemAssigned()).base64();
            for (String token : new String[] {null, ""}) {
                EmulatorClient.Reply r = c.issue(null, EmulatorClient.issueBody(csr, token));
                assertEquals(400, r.code());
                assertEquals("invalid_request", r.error());
                assertEquals(ImdsHandler.ATTESTATION_MISSING, r.description());
            }
            assertEquals(200, c.issue(null, EmulatorClient.issueBody(csr, "eyJ.fake.token")).code());
        }
    }

    @Test
    void lifetimeOptionDownToTenSeconds() throws IOException {
        try (ImdsEmulator shortLived = ImdsEmulator.start(EmulatorConfig.builder()
                .certLifetime(EmulatorDurations.parse("10s")).build())) {
            X509Certificate cert = new EmulatorClient(shortLived).issueCertificate(KEYS, shortLived.systemAssigned(),
                    null, null);
            assertEquals(Duration.ofSeconds(10),
                    Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()));
            long skew = Math.abs(Duration.between(cert.getNotBefore().toInstant(), java.time.Instant.now()).toSeconds());
            assertTrue(skew <= 5, "notBefore is now, was " + cert.getNotBefore());
        }
    }
}
