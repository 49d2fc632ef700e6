package io.msiagent.cli;

import io.msiagent.core.CredentialTlsContext;
import io.msiagent.core.MtlsCredential;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;

/** {@code doctor}'s token-endpoint check: a full TLS handshake (server verified, host name checked) with our client certificate. */
final class TlsProbe {
    private static final String ALIAS = "msi-agent";

    private TlsProbe() {
    }

    static int port(URI uri) {
        return uri.getPort() > 0 ? uri.getPort() : 443;
    }

    static Duration handshake(URI uri, MtlsCredential c, X509TrustManager trust) throws Exception {
        SSLContext plain = SSLContext.getInstance("TLS");
        plain.init(new KeyManager[] {new OneCredential(c)}, new TrustManager[] {trust}, null);
        // As the library's own context does: a credential whose key cannot sign RSA-PSS offers TLS 1.2 only.
        SSLContext ctx = CredentialTlsContext.wrap(plain, () -> c);
        long start = System.nanoTime();
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(uri.getHost(), port(uri)), 3000);
            raw.setSoTimeout(5000);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, uri.getHost(), port(uri), false)) {
                SSLParameters p = s.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                s.setSSLParameters(p);
                s.startHandshake();
                if (s.getSession().getLocalCertificates() == null) {
                    throw new GeneralSecurityException("the server did not ask for our client certificate");
                }
            }
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** A key manager that offers exactly one credential. */
    private static final class OneCredential extends X509ExtendedKeyManager {
        private final MtlsCredential c;

        OneCredential(MtlsCredential c) {
            this.c = c;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
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
            return c.chain().toArray(new X509Certificate[0]);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return c.privateKey();
        }
    }
}
