package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.tests.child.Stack;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stored files, consumed by tools nobody here wrote: curl and openssl use {@code msal_mtls.pem}
 * for a mutual-TLS handshake with the emulator's token endpoint (curl gets a token bound to the
 * stored certificate); openssl and keytool read {@code msal_mtls.pfx} (StoreOptions.withPkcs12(true)).
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExternalToolsTest {
    @TempDir
    static Path tmp;
    private ImdsEmulator emu;
    private MsiCredentialCache cache;
    private LinuxCredentialStore store;
    private MtlsCredential credential;
    private Path caFile;

    @BeforeAll
    void issue() throws Exception {
        emu = Proof.emulator(Duration.ofHours(1));
        store = Stack.store(tmp.resolve("store"), true);
        cache = Proof.fastCache(emu, tmp).store(store).build();
        credential = cache.get();
        caFile = Proof.caFile(emu, tmp);
    }

    @AfterAll
    void stop() {
        cache.close();
        emu.close();
    }

    private String form() {
        return "grant_type=client_credentials&client_id=" + credential.clientId()
                + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&token_type=mtls_pop";
    }

    @Test
    void curlPostsTheTokenFormWithTheStoredPemAndGetsATokenBoundToIt() throws Exception {
        Path pem = store.pemFile(Proof.SYSTEM);
        Result r = run(List.of("curl", "-sS", "--fail-with-body", "--max-time", "20", "--cert", pem.toString(),
                "--cacert", caFile.toString(), "--data", form(), emu.tokenEndpoint()));
        assertEquals(0, r.exit, r.out);
        JsonNode body = Proof.JSON.readTree(r.out);
        assertEquals("mtls_pop", body.get("token_type").asText());
        assertEquals(credential.x5tS256(), HttpClientRotationTest.presented(new String[] {"200", r.out}),
                "the token is bound to the certificate in msal_mtls.pem");
    }

    @Test
    void curlWithoutTheClientCertificateIsRefused() throws Exception {
        Result r = run(List.of("curl", "-sS", "--max-time", "20", "--cacert", caFile.toString(), "--data", form(), emu.tokenEndpoint()));
        assertNotEquals(0, r.exit, "the endpoint requires a client certificate (negative control): " + r.out);
    }

    /**
     * s_client's own "CONNECTION ESTABLISHED" proves nothing here: under TLS 1.3 a server that refuses
     * the client certificate says so after the client's handshake is done, so the token request sent
     * through the connection and the token's binding are what show the server accepted the PEM.
     */
    @Test
    void opensslSClientCompletesTheMutualTlsHandshakeWithKeyAndCertificateFromThePem() throws Exception {
        Path pem = store.pemFile(Proof.SYSTEM);
        Result r = sClient(List.of("-cert", pem.toString(), "-key", pem.toString()));
        // stderr is interleaved: s_client's verify lines before the reply, and after it its complaint that
        // the JDK's server closed without close_notify (hence no exit code is asserted)
        String reply = r.out.substring(Math.max(0, r.out.indexOf("HTTP/1.1 ")));
        assertTrue(reply.startsWith("HTTP/1.1 200"), r.out);
        int headersEnd = reply.indexOf("\r\n\r\n") + 4;
        int length = Integer.parseInt(reply.substring(0, headersEnd).lines()
                .filter(h -> h.toLowerCase(Locale.ROOT).startsWith("content-length:")).findFirst().orElseThrow().substring(15).strip());
        assertEquals(credential.x5tS256(), HttpClientRotationTest.presented(new String[] {"200", reply.substring(headersEnd, headersEnd + length)}),
                "the token is bound to the certificate in msal_mtls.pem");
    }

    @Test
    void opensslSClientWithoutTheClientCertificateGetsNoToken() throws Exception {
        Result r = sClient(List.of());
        assertFalse(r.out.contains("HTTP/1.1 200") || r.out.contains("access_token"), "negative control: " + r.out);
    }

    /** One token request through {@code openssl s_client}, with its output the server's reply only. */
    private Result sClient(List<String> clientCertificate) throws Exception {
        URI endpoint = URI.create(emu.tokenEndpoint());
        String body = form();
        String request = "POST " + endpoint.getRawPath() + " HTTP/1.1\r\nHost: " + endpoint.getAuthority()
                + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body;
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + emu.tlsPort(),
                "-CAfile", caFile.toString(), "-verify_return_error", "-quiet"));
        cmd.addAll(clientCertificate);
        return run(cmd, request);
    }

    @Test
    void opensslReadsThePkcs12FileWithTheEmptyPasswordAndItsKeyMatchesItsCertificate() throws Exception {
        Path pfx = store.pkcs12File(Proof.SYSTEM);
        assertTrue(Files.exists(pfx), "withPkcs12(true) wrote " + pfx);
        Result info = run(List.of("openssl", "pkcs12", "-info", "-in", pfx.toString(), "-passin", "pass:", "-noout"));
        assertEquals(0, info.exit, info.out);
        Path all = tmp.resolve("all.pem");
        Result export = run(List.of("openssl", "pkcs12", "-in", pfx.toString(), "-passin", "pass:", "-nodes", "-out", all.toString()));
        assertEquals(0, export.exit, export.out);
        Result certModulus = run(List.of("openssl", "x509", "-in", all.toString(), "-noout", "-modulus"));
        Result keyModulus = run(List.of("openssl", "rsa", "-in", all.toString(), "-noout", "-modulus"));
        assertEquals(0, keyModulus.exit, keyModulus.out);
        assertEquals(certModulus.out.strip(), keyModulus.out.strip(), "the PKCS#12 key belongs to its certificate");
        Result fp = run(List.of("openssl", "x509", "-in", all.toString(), "-noout", "-fingerprint", "-sha256"));
        assertTrue(fp.out.toUpperCase(Locale.ROOT).contains(colonHexSha256(credential)), fp.out);
    }

    @Test
    void keytoolListsThePkcs12EntryWithTheStoredCertificate() throws Exception {
        Path pfx = store.pkcs12File(Proof.SYSTEM);
        Result r = run(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-list", "-v",
                "-storetype", "PKCS12", "-keystore", pfx.toString(), "-storepass", ""));
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("PrivateKeyEntry"), r.out);
        assertTrue(r.out.toUpperCase(Locale.ROOT).contains(colonHexSha256(credential)), r.out);
    }

    private static String colonHexSha256(MtlsCredential c) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest(c.certificate().getEncoded());
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(d);
    }

    record Result(int exit, String out) {
    }

    static Result run(List<String> cmd) throws Exception {
        return run(cmd, null);
    }

    static Result run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.US_ASCII));
        }
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
