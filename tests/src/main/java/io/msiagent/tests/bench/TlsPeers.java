package io.msiagent.tests.bench;

import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.tests.child.Stack;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A client credential issued by the emulator through the real engine, a server that requires it,
 * and an in-memory TLS handshake between two SSLEngines (no sockets: only the TLS work is timed).
 */
final class TlsPeers implements AutoCloseable {
    final ImdsEmulator emulator;
    final MsiCredentialCache cache;
    final MtlsCredential credential;
    final SSLContext server;
    final X509Certificate serverCertificate;

    TlsPeers() throws Exception {
        emulator = ImdsEmulator.start(EmulatorConfig.builder().ca(EmulatorCa.generate(Clock.systemUTC())).certLifetime(Duration.ofDays(1)).build());
        cache = Stack.cache(emulator.imdsEndpoint(), emulator.caCertificate(), Files.createTempDirectory("msi-tls-bench")).build();
        credential = cache.get();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair serverKeys = g.generateKeyPair();
        Instant now = Instant.now();
        serverCertificate = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(new X500Name("CN=127.0.0.1"),
                BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minusSeconds(300)), Date.from(now.plus(Duration.ofDays(1))),
                new X500Name("CN=127.0.0.1"), serverKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(serverKeys.getPrivate())));
        KeyStore serverKs = KeyStore.getInstance("PKCS12");
        serverKs.load(null, null);
        serverKs.setKeyEntry("server", serverKeys.getPrivate(), new char[0], new X509Certificate[] {serverCertificate});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(serverKs, new char[0]);
        server = SSLContext.getInstance("TLS");
        server.init(kmf.getKeyManagers(), trustOnly(emulator.caCertificate()).getTrustManagers(), null);
    }

    /** Client context with the cache's rotating key manager. */
    SSLContext clientWithCacheKeyManager() throws Exception {
        return client(new KeyManager[] {cache.keyManager()});
    }

    /** Client context with a JDK key manager ("SunX509" or "NewSunX509") over a PKCS#12 KeyStore holding the same key and chain. */
    SSLContext clientWithKeyStore(String algorithm) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", credential.privateKey(), new char[0], credential.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(algorithm);
        kmf.init(ks, new char[0]);
        return client(kmf.getKeyManagers());
    }

    private SSLContext client(KeyManager[] kms) throws Exception {
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kms, trustOnly(serverCertificate).getTrustManagers(), null);
        return c;
    }

    private static TrustManagerFactory trustOnly(X509Certificate cert) throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("trusted", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        return tmf;
    }

    /**
     * One full mutual-TLS handshake (TLS 1.3 by default) between fresh engines; returns the client
     * certificate the server authenticated. Both sessions are invalidated so the next call cannot resume.
     */
    X509Certificate handshake(SSLContext clientContext) throws SSLException {
        SSLEngine c = clientContext.createSSLEngine("127.0.0.1", 443);
        c.setUseClientMode(true);
        SSLEngine s = server.createSSLEngine();
        s.setUseClientMode(false);
        s.setNeedClientAuth(true);
        ByteBuffer c2s = ByteBuffer.allocate(1 << 16);
        ByteBuffer s2c = ByteBuffer.allocate(1 << 16);
        ByteBuffer app = ByteBuffer.allocate(1 << 16);
        c.beginHandshake();
        s.beginHandshake();
        for (int round = 0; round < 100; round++) {
            boolean clientDone = step(c, s2c, c2s, app);
            boolean serverDone = step(s, c2s, s2c, app);
            if (clientDone && serverDone) {
                X509Certificate seen = (X509Certificate) s.getSession().getPeerCertificates()[0];
                c.getSession().invalidate();
                s.getSession().invalidate();
                return seen;
            }
        }
        throw new SSLException("handshake did not complete");
    }

    /** Advances one engine as far as it can with the bytes it has; true when it is no longer handshaking. */
    private static boolean step(SSLEngine e, ByteBuffer in, ByteBuffer out, ByteBuffer app) throws SSLException {
        ByteBuffer empty = ByteBuffer.allocate(0);
        while (true) {
            switch (e.getHandshakeStatus()) {
                case NEED_TASK -> {
                    Runnable task;
                    while ((task = e.getDelegatedTask()) != null) {
                        task.run();
                    }
                }
                case NEED_WRAP -> {
                    SSLEngineResult r = e.wrap(empty, out);
                    if (r.getStatus() != SSLEngineResult.Status.OK) {
                        throw new SSLException("wrap: " + r);
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    in.flip();
                    SSLEngineResult r = e.unwrap(in, app);
                    in.compact();
                    app.clear();
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW
                            || (r.bytesConsumed() == 0 && r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_UNWRAP)) {
                        return false;
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLException("closed during handshake: " + r);
                    }
                }
                default -> {
                    return true;
                }
            }
        }
    }

    @Override
    public void close() {
        cache.close();
        emulator.close();
    }
}
