package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.Pkcs1OnlyKey;
import io.msiagent.core.testing.TestCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A credential whose key cannot sign RSA-PSS (a TPM that only does maximum salt) against a real
 * loopback TLS server that requires client authentication and offers TLS 1.3 and 1.2.
 */
class Tls12OnlyCredentialTest {
    private final FakeIssuer imds = new FakeIssuer(Clock.systemUTC());
    private final HeldCertificate root = new HeldCertificate.Builder().certificateAuthority(0).rsa2048().build();
    private final BlockingQueue<Object> served = new LinkedBlockingQueue<>();
    private SSLServerSocket listener;

    /** What the server saw of one connection. */
    record Seen(String protocol, X509Certificate clientCertificate) {
    }

    @BeforeEach
    void startServer() throws IOException {
        HeldCertificate serverCert = new HeldCertificate.Builder().signedBy(root).rsa2048()
                .addSubjectAlternativeName("127.0.0.1").build();
        HandshakeCertificates server = new HandshakeCertificates.Builder().heldCertificate(serverCert, root.certificate())
                .addTrustedCertificate(imds.ca.caCertificate()).build();
        listener = (SSLServerSocket) server.sslContext().getServerSocketFactory()
                .createServerSocket(0, 16, InetAddress.getLoopbackAddress());
        listener.setNeedClientAuth(true);
        listener.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        Thread acceptor = new Thread(() -> {
            while (!listener.isClosed()) {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                    s.setSoTimeout(10_000);
                    try {
                        s.startHandshake();
                        served.add(new Seen(s.getSession().getProtocol(), (X509Certificate) s.getSession().getPeerCertificates()[0]));
                        s.getOutputStream().write(42);
                        s.getOutputStream().flush();
                    } catch (IOException e) {
                        served.add(e);
                    }
                } catch (IOException e) {
                    if (!listener.isClosed()) {
                        served.add(e);
                    }
                }
            }
        }, "tls12-test-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    @AfterEach
    void stopServer() throws IOException {
        listener.close();
    }

    private MsiCredentialCache cache(MtlsCredential stored) {
        InMemoryCredentialStore store = new InMemoryCredentialStore();
        if (stored != null) {
            store.save(stored);
        }
        return MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider()).keyAttestor(null)
                .trustedCertificates(List.of(root.certificate())).build();
    }

    private MtlsCredential restricted() {
        return Pkcs1OnlyKey.credential(imds.ca, ManagedIdentityId.systemAssigned(), Duration.ofHours(24));
    }

    /** One connection through {@code ctx}'s socket factory; what the client negotiated and what the server saw. */
    private Seen connect(SSLContext ctx) throws Exception {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                listener.getLocalPort())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            InputStream in = s.getInputStream();
            assertEquals(42, in.read(), "server answered");
            Object server = served.poll(10, TimeUnit.SECONDS);
            assertTrue(server instanceof Seen, "server side: " + server);
            assertEquals(s.getSession().getProtocol(), ((Seen) server).protocol());
            return (Seen) server;
        }
    }

    @Test
    void theCredentialSaysWhyItIsTls12Only() {
        MtlsCredential c = restricted();
        assertFalse(c.supportsTls13ClientAuth());
        assertTrue(c.tlsRestriction().orElseThrow().startsWith("TLS 1.2 only"), c.tlsRestriction().get());
        assertTrue(c.tlsRestriction().get().contains("maximum salt only"), c.tlsRestriction().get());
        MtlsCredential software = imds.ca.credential(ManagedIdentityId.systemAssigned());
        assertTrue(software.supportsTls13ClientAuth());
        assertTrue(software.tlsRestriction().isEmpty());
    }

    @Test
    void aPlainContextWithOurKeyManagerCannotAuthenticateOverTls13() throws Exception {
        try (MsiCredentialCache cache = cache(restricted())) {
            SSLContext plain = SSLContext.getInstance("TLS");
            plain.init(new KeyManager[] {cache.keyManager()}, new TrustManager[] {cache.trustManager()}, null);
            assertThrows(SSLException.class, () -> connect(plain));
            Object server = served.poll(10, TimeUnit.SECONDS);
            assertTrue(server instanceof IOException, "the server saw no authenticated client: " + server);
        }
    }

    @Test
    void theCacheContextNegotiatesTls12AndSignsPkcs1() throws Exception {
        MtlsCredential stored = restricted();
        try (MsiCredentialCache cache = cache(stored)) {
            Seen seen = connect(cache.sslContext());
            assertEquals("TLSv1.2", seen.protocol());
            assertEquals(stored.certificate(), seen.clientCertificate());
            List<String> signed = ((Pkcs1OnlyKey) stored.privateKey()).signedWith();
            assertFalse(signed.isEmpty(), "the client signed its CertificateVerify with the key");
            assertTrue(signed.stream().allMatch(a -> a.endsWith("withRSA")), "rsa_pkcs1 signatures only: " + signed);
            assertEquals(0, imds.issueCalls.get(), "the stored credential was used");
        }
    }

    @Test
    void aPssCapableCredentialStillNegotiatesTls13() throws Exception {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned());
        try (MsiCredentialCache cache = cache(stored)) {
            Seen seen = connect(cache.sslContext());
            assertEquals("TLSv1.3", seen.protocol());
            assertEquals(stored.certificate(), seen.clientCertificate());
            SSLEngine engine = cache.sslContext().createSSLEngine("127.0.0.1", listener.getLocalPort());
            assertTrue(Arrays.asList(engine.getEnabledProtocols()).contains("TLSv1.3"));
        }
    }

    @Test
    void afterRotationToAnUnrestrictedCredentialNewConnectionsUseTls13() throws Exception {
        MtlsCredential stored = restricted();
        try (MsiCredentialCache cache = cache(stored)) {
            SSLContext ctx = cache.sslContext();
            assertEquals("TLSv1.2", connect(ctx).protocol());
            SSLEngine before = ctx.createSSLEngine();
            assertFalse(Arrays.asList(before.getEnabledProtocols()).contains("TLSv1.3"), "engines follow the credential too");
            assertFalse(Arrays.asList(ctx.getDefaultSSLParameters().getProtocols()).contains("TLSv1.3"));

            MtlsCredential next = cache.refresh();
            assertTrue(next.supportsTls13ClientAuth());
            Seen seen = connect(ctx);
            assertEquals("TLSv1.3", seen.protocol());
            assertEquals(next.certificate(), seen.clientCertificate());
            assertNotEquals(stored.certificate(), seen.clientCertificate());
            assertTrue(Arrays.asList(ctx.createSSLEngine().getEnabledProtocols()).contains("TLSv1.3"));
            assertArrayEquals(before.getSupportedProtocols(), ctx.createSSLEngine().getSupportedProtocols());
        }
    }

    @Test
    void aContextOfOneselfWrappedAroundTheKeyManagerFollowsTheCredential() throws Exception {
        try (MsiCredentialCache cache = cache(restricted())) {
            SSLContext own = SSLContext.getInstance("TLSv1.3");
            own.init(new KeyManager[] {cache.keyManager()}, new TrustManager[] {cache.trustManager()}, null);
            SSLContext wrapped = CredentialTlsContext.wrap(own, cache::get);
            assertEquals("TLSv1.2", connect(wrapped).protocol());
            assertEquals("TLSv1.3", wrapped.getProtocol());
            assertThrows(java.security.KeyManagementException.class, () -> wrapped.init(null, null, null));
        }
    }

    @Test
    void aSocketCreatedBeforeAnyCredentialIsDecidedByTheAcquiredOne() throws Exception {
        // Nothing in memory yet: creating the socket acquires (here: loads the stored TPM credential) and restricts.
        try (MsiCredentialCache cache = cache(restricted());
             Socket raw = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
             SSLSocket s = (SSLSocket) cache.sslContext().getSocketFactory().createSocket(raw, "127.0.0.1",
                     listener.getLocalPort(), true)) {
            assertArrayEquals(new String[] {"TLSv1.2"}, s.getEnabledProtocols());
        }
    }
}
