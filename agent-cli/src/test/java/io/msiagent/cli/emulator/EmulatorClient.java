package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.security.KeyPair;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import okhttp3.FormBody;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** A small real-HTTP client of the emulator for tests (OkHttp on loopback). */
final class EmulatorClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");

    final ImdsEmulator emulator;
    final OkHttpClient http;

    EmulatorClient(ImdsEmulator emulator) {
        this.emulator = emulator;
        this.http = new OkHttpClient.Builder()
                .retryOnConnectionFailure(false)
                .callTimeout(Duration.ofSeconds(30))
                .build();
    }

    /** A reply read completely. */
    record Reply(int code, okhttp3.Headers headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String error() {
            return json().path("error").asText(null);
        }

        String description() {
            return json().path("error_description").asText("");
        }
    }

    HttpUrl.Builder url(String path, String query) {
        HttpUrl.Builder b = HttpUrl.get(emulator.imdsEndpoint() + path).newBuilder();
        if (query != null && !query.isEmpty()) {
            b.encodedQuery(query);
        }
        return b;
    }

    static String selectorQuery(String selector) {
        return "cred-api-version=2.0" + (selector == null ? "" : "&" + selector);
    }

    Reply metadata(String selector) throws IOException {
        return execute(http, new Request.Builder().url(url(ImdsHandler.METADATA_PATH, selectorQuery(selector)).build())
                .header("Metadata", "true").build());
    }

    Reply issue(String selector, ObjectNode body) throws IOException {
        return execute(http, new Request.Builder().url(url(ImdsHandler.ISSUE_PATH, selectorQuery(selector)).build())
                .header("Metadata", "true").post(RequestBody.create(body.toString(), JSON_TYPE)).build());
    }

    static ObjectNode issueBody(String csr, String attestationToken) {
        ObjectNode b = JSON.createObjectNode().put("csr", csr);
        if (attestationToken != null) {
            b.put("attestation_token", attestationToken);
        }
        return b;
    }

    /** A correct CSR for this identity. */
    TestCsr csr(KeyPair keys, EmulatedIdentity identity) {
        return new TestCsr(keys, identity.clientId(), emulator.tenantId());
    }

    /** Issues a certificate for {@code keys} the right way and returns it. */
    X509Certificate issueCertificate(KeyPair keys, EmulatedIdentity identity, String selector, String attestation)
            throws IOException {
        Reply r = issue(selector, issueBody(csr(keys, identity).base64(), attestation));
        assertEquals(200, r.code(), r.body());
        return certificate(r.json().get("certificate").asText());
    }

    static X509Certificate certificate(String base64) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(base64)));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    Reply get(String path, okhttp3.Headers headers) throws IOException {
        return execute(http, new Request.Builder().url(emulator.imdsEndpoint() + path).headers(headers).build());
    }

    Reply postJson(String path, String json) throws IOException {
        return execute(http, new Request.Builder().url(emulator.imdsEndpoint() + path)
                .post(RequestBody.create(json, JSON_TYPE)).build());
    }

    /** An OkHttp client presenting {@code cert} (with {@code keys}) and trusting only the emulator CA. */
    OkHttpClient mtlsClient(KeyPair keys, X509Certificate... chain) {
        return http.newBuilder().sslSocketFactory(clientTls(keys, chain).getSocketFactory(), emulator.caTrustManager())
                .build();
    }

    /** Client TLS presenting {@code chain} (none when {@code keys} is null) and trusting only the emulator CA. */
    SSLContext clientTls(KeyPair keys, X509Certificate... chain) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            KeyManager[] km = keys == null ? null : new KeyManager[] {new FixedKeyManager(keys.getPrivate(), chain)};
            ctx.init(km, new TrustManager[] {emulator.caTrustManager()}, new SecureRandom());
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Handshakes with the token endpoint over {@code protocol} ("TLSv1.2", "TLSv1.3") on a plain
     * SSLSocket, sends a token request and reads the reply's first byte: what a refused client sees.
     * Returns the exception that ended it, or null when a reply byte arrived. A clean end of stream
     * (no alert) comes back as an EOFException.
     */
    IOException handshakeAndRead(SSLContext tls, String protocol) {
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket()) {
            s.setEnabledProtocols(new String[] {protocol});
            s.connect(new InetSocketAddress("127.0.0.1", emulator.tlsPort()), 10_000);
            s.setSoTimeout(10_000);
            s.startHandshake();
            String path = "/" + emulator.tenantId() + "/oauth2/v2.0/token";
            s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return s.getInputStream().read() < 0 ? new EOFException("end of stream, no TLS alert") : null;
        } catch (IOException e) {
            return e;
        }
    }

    /**
     * Always presents the one certificate, whatever CAs the server names (the JDK's default key
     * manager would silently send nothing for a certificate from another CA).
     */
    private static final class FixedKeyManager extends X509ExtendedKeyManager {
        private final PrivateKey key;
        private final X509Certificate[] chain;

        FixedKeyManager(PrivateKey key, X509Certificate[] chain) {
            this.key = key;
            this.chain = chain.clone();
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return "client";
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return "client";
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {"client"};
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return chain.clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return key;
        }
    }

    static FormBody tokenForm(String clientId, String scope, String tokenType) {
        FormBody.Builder f = new FormBody.Builder().add("client_id", clientId).add("scope", scope)
                .add("grant_type", "client_credentials");
        if (tokenType != null) {
            f.add("token_type", tokenType);
        }
        return f.build();
    }

    Reply token(OkHttpClient client, FormBody form) throws IOException {
        return token(client, emulator.tokenEndpoint(), form);
    }

    static Reply token(OkHttpClient client, String url, FormBody form) throws IOException {
        return execute(client, new Request.Builder().url(url).post(form).build());
    }

    static Reply execute(OkHttpClient client, Request request) throws IOException {
        try (Response r = client.newCall(request).execute()) {
            return new Reply(r.code(), r.headers(), r.body().string());
        }
    }
}
