package io.msiagent.core;

import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link SSLContext} whose sockets and engines never offer TLS 1.3 while the credential of the
 * coming handshake cannot authenticate over it: a key that cannot sign RSA-PSS with salt = hash
 * length (many TPMs; see {@link MtlsCredential#tlsRestriction()}) can only do TLS 1.2 with
 * {@code rsa_pkcs1_*}. Every other credential gets the delegate's protocols unchanged.
 *
 * <p>The decision is made for each socket and engine when it is created (credentials rotate, and a
 * restricted credential may be followed by an unrestricted one or the other way round), by removing
 * {@code TLSv1.3} from its enabled protocols. Callers that set protocols on a socket themselves
 * afterwards override it. A rotation between creating a socket and its handshake that changes the
 * restriction is not covered (key tiers rarely change between generations); the next socket is
 * right again.
 *
 * <p>{@link MsiCredentialCache#sslContext()} is such a context. Code that builds its own
 * {@code SSLContext} around {@link MsiCredentialCache#keyManager()} wraps it the same way:
 * {@code CredentialTlsContext.wrap(myContext, cache::get)}.
 */
public final class CredentialTlsContext {
    private static final Logger LOG = LoggerFactory.getLogger(CredentialTlsContext.class);
    static final String TLS13 = "TLSv1.3";

    private CredentialTlsContext() {
    }

    /**
     * {@code delegate} (initialised) restricted per socket by {@code nextHandshake}: the credential
     * the next handshake will present, or null when unknown. A {@link MsiCredentialException} from
     * it leaves the socket unrestricted (the handshake then fails for want of a credential anyway).
     */
    public static SSLContext wrap(SSLContext delegate, Supplier<MtlsCredential> nextHandshake) {
        Objects.requireNonNull(delegate, "delegate");
        Objects.requireNonNull(nextHandshake, "nextHandshake");
        return new Wrapped(new Spi(delegate, nextHandshake), delegate);
    }

    /** The cache's own context: the current generation, acquired first when there is none yet. */
    static SSLContext following(MsiCredentialCache cache, SSLContext delegate) {
        return wrap(delegate, () -> {
            Published p = cache.currentOrAcquire();
            return p == null ? null : p.credential;
        });
    }

    /** {@code protocols} without TLS 1.3 when {@code credential} cannot authenticate over it. */
    static String[] protocolsFor(MtlsCredential credential, String[] protocols) {
        if (credential == null || credential.supportsTls13ClientAuth()) {
            return protocols;
        }
        return Arrays.stream(protocols).filter(p -> !TLS13.equals(p)).toArray(String[]::new);
    }

    private static final class Wrapped extends SSLContext {
        Wrapped(Spi spi, SSLContext delegate) {
            super(spi, delegate.getProvider(), delegate.getProtocol());
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext delegate;
        private final Supplier<MtlsCredential> nextHandshake;
        private final SSLSocketFactory sockets;

        Spi(SSLContext delegate, Supplier<MtlsCredential> nextHandshake) {
            this.delegate = delegate;
            this.nextHandshake = nextHandshake;
            this.sockets = new SocketFactory(delegate.getSocketFactory(), this);
        }

        MtlsCredential credential() {
            try {
                return nextHandshake.get();
            } catch (MsiCredentialException e) {
                LOG.debug("no credential to choose TLS versions for: {}", e.getMessage());
                return null;
            }
        }

        Socket restrict(Socket socket) {
            if (socket instanceof SSLSocket) {
                SSLSocket s = (SSLSocket) socket;
                MtlsCredential c = credential();
                String[] enabled = s.getEnabledProtocols();
                String[] allowed = protocolsFor(c, enabled);
                if (allowed != enabled) {
                    s.setEnabledProtocols(allowed);
                    LOG.debug("TLS 1.3 not offered with credential {}: {}", c.x5tS256(), c.tlsRestriction().orElse(""));
                }
            }
            return socket;
        }

        private SSLEngine restrict(SSLEngine engine) {
            String[] enabled = engine.getEnabledProtocols();
            String[] allowed = protocolsFor(credential(), enabled);
            if (allowed != enabled) {
                engine.setEnabledProtocols(allowed);
            }
            return engine;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("this context is initialised already");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return sockets;
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return delegate.getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return restrict(delegate.createSSLEngine());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return restrict(delegate.createSSLEngine(host, port));
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return delegate.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return delegate.getClientSessionContext();
        }

        /** What a socket created now gets (clients that copy these once, like java.net.http, see them at that time). */
        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            SSLParameters p = delegate.getDefaultSSLParameters();
            p.setProtocols(protocolsFor(credential(), p.getProtocols()));
            return p;
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return delegate.getSupportedSSLParameters();
        }
    }

    private static final class SocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;
        private final Spi policy;

        SocketFactory(SSLSocketFactory delegate, Spi policy) {
            this.delegate = delegate;
            this.policy = policy;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws java.io.IOException {
            return policy.restrict(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws java.io.IOException {
            return policy.restrict(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws java.io.IOException {
            return policy.restrict(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws java.io.IOException {
            return policy.restrict(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws java.io.IOException {
            return policy.restrict(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws java.io.IOException {
            return policy.restrict(delegate.createSocket(address, port, localAddress, localPort));
        }

        /** Server side (consumed bytes of a ClientHello): the client credential plays no part. */
        @Override
        public Socket createSocket(Socket s, java.io.InputStream consumed, boolean autoClose) throws java.io.IOException {
            return delegate.createSocket(s, consumed, autoClose);
        }
    }
}
