package io.msiagent.store.windows;

import io.msiagent.core.testing.TestCredentials;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A one-shot mTLS handshake on 127.0.0.1: a server that requires a client certificate from {@code ca}. */
final class LoopbackTls {
    record Result(String protocol, X509Certificate peerCertificate) {
    }

    private LoopbackTls() {
    }

    static Result handshake(ExecutorService executor, TestCredentials ca, PrivateKey clientKey,
            List<X509Certificate> clientChain, String protocol) throws Exception {
        KeyPair serverKeys = TestCredentials.rsa2048();
        X509Certificate serverCert = selfSigned(serverKeys);
        SSLContext clientCtx = SSLContext.getInstance("TLS");
        clientCtx.init(new javax.net.ssl.KeyManager[] {new SingleKeyManager(clientKey, clientChain)},
                trust(serverCert), null);
        return handshake(executor, ca, serverKeys, serverCert, clientCtx, protocol);
    }

    /**
     * One handshake of a client socket from {@code clientCtx} (which must trust {@code serverCert})
     * with a server offering TLS 1.3 and 1.2; {@code protocol} null keeps the socket's own protocols.
     */
    static Result handshake(ExecutorService executor, TestCredentials ca, KeyPair serverKeys, X509Certificate serverCert,
            SSLContext clientCtx, String protocol) throws Exception {
        KeyStore serverKs = KeyStore.getInstance("PKCS12");
        serverKs.load(null, null);
        serverKs.setKeyEntry("server", serverKeys.getPrivate(), new char[0], new X509Certificate[] {serverCert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(serverKs, new char[0]);
        SSLContext serverCtx = SSLContext.getInstance("TLS");
        serverCtx.init(kmf.getKeyManagers(), trust(ca.caCertificate()), null);

        try (SSLServerSocket server = (SSLServerSocket) serverCtx.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setNeedClientAuth(true);
            server.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            server.setSoTimeout(20_000);
            Future<Result> serverSide = executor.submit(() -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.setSoTimeout(20_000);
                    s.startHandshake();
                    int b = s.getInputStream().read();
                    s.getOutputStream().write(b);
                    s.getOutputStream().flush();
                    return new Result(s.getSession().getProtocol(),
                            (X509Certificate) s.getSession().getPeerCertificates()[0]);
                }
            });
            try (SSLSocket client = (SSLSocket) clientCtx.getSocketFactory()
                    .createSocket("127.0.0.1", server.getLocalPort())) {
                client.setSoTimeout(20_000);
                SSLParameters params = client.getSSLParameters();
                if (protocol != null) {
                    params.setProtocols(new String[] {protocol});
                }
                params.setEndpointIdentificationAlgorithm("HTTPS");
                client.setSSLParameters(params);
                client.startHandshake();
                client.getOutputStream().write(42);
                client.getOutputStream().flush();
                if (client.getInputStream().read() != 42) {
                    throw new SSLException("no echo over the authenticated connection");
                }
            } catch (SSLException | java.net.SocketException e) {
                serverSide.cancel(true);
                throw e instanceof SSLException ? (SSLException) e : new SSLException(e);
            }
            try {
                return serverSide.get(20, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new SSLException("server side failed", e.getCause());
            }
        }
    }

    private static javax.net.ssl.TrustManager[] trust(X509Certificate anchor) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("anchor", anchor);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        return tmf.getTrustManagers();
    }

    static X509Certificate selfSigned(KeyPair keys) throws Exception {
        X500Name name = new X500Name("CN=127.0.0.1");
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name,
                keys.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
    }

    /** Offers exactly one key and chain, as core's rotating key manager does for one generation. */
    static final class SingleKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "cng";
        private final PrivateKey key;
        private final X509Certificate[] chain;

        SingleKeyManager(PrivateKey key, List<X509Certificate> chain) {
            this.key = key;
            this.chain = chain.toArray(new X509Certificate[0]);
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return "RSA".equals(keyType) ? new String[] {ALIAS} : null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            for (String t : keyType) {
                if ("RSA".equals(t)) {
                    return ALIAS;
                }
            }
            return null;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return chooseClientAlias(keyType, issuers, null);
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
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }
    }
}
