package io.msiagent.cli.emulator;

import java.nio.ByteBuffer;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLEngineResult.Status;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the JDK's HttpsServer send the TLS alert of a failed handshake. When an SSLEngine fails
 * (a client certificate refused or missing, a protocol error), it throws and keeps the fatal alert
 * queued for the next {@code wrap}; the HttpsServer ({@code sun.net.httpserver.SSLStreams}) never
 * makes that call, it closes the connection on the exception. The client then sees the connection
 * end with no reason (curl: "Empty reply from server"; OkHttp: end of stream, which it retries as a
 * network failure) instead of the alert a real mutual-TLS server sends. The engines of this context
 * turn such a failure into one more wrap that carries the alert, and fail on the call after it.
 */
final class AlertSendingTls {
    private static final Logger LOG = LoggerFactory.getLogger(AlertSendingTls.class);

    private AlertSendingTls() {
    }

    /** {@code context}, with every engine it creates sending its alert before failing. */
    static SSLContext wrap(SSLContext context) {
        return new SSLContext(new Spi(context), context.getProvider(), context.getProtocol()) {
        };
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext delegate;

        Spi(SSLContext delegate) {
            this.delegate = delegate;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("already initialized");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return delegate.getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return delegate.getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return new Engine(delegate.createSSLEngine());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return new Engine(delegate.createSSLEngine(host, port));
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return delegate.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return delegate.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return delegate.getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return delegate.getSupportedSSLParameters();
        }
    }

    /**
     * Delegates everything until a {@code wrap} or {@code unwrap} fails. The failure is then reported
     * as "wrap needed"; that wrap returns the queued alert as ordinary output, which the server writes
     * to the socket. After it the engine asks for input and discards it until the client closes the
     * connection (a lingering close): closing at once, with the client's last handshake records or its
     * first request still unread, makes the kernel answer with a reset, and a client that is still
     * writing then fails with "Broken pipe" or "Connection reset" without ever reading the alert.
     * Clients close on a fatal alert; one that keeps sending has the original exception thrown after
     * {@link #LINGER_LIMIT} bytes, which ends the connection as before.
     */
    private static final class Engine extends SSLEngine {
        private static final ByteBuffer[] NOTHING = {ByteBuffer.allocate(0)};
        static final long LINGER_LIMIT = 1 << 20;

        private enum State { OPEN, FAILED, ALERT_SENT }

        private final SSLEngine engine;
        private final Object lock = new Object();
        private State state = State.OPEN;
        private SSLException failure;
        private long discarded;

        Engine(SSLEngine engine) {
            super(engine.getPeerHost(), engine.getPeerPort());
            this.engine = engine;
        }

        @Override
        public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
            synchronized (lock) {
                if (state == State.OPEN) {
                    try {
                        return engine.wrap(srcs, offset, length, dst);
                    } catch (SSLException e) {
                        failed(e);
                    }
                }
                if (state == State.ALERT_SENT) {
                    throw failure;
                }
                SSLEngineResult alert = engine.wrap(NOTHING, 0, 1, dst);
                if (alert.getStatus() == Status.BUFFER_OVERFLOW) {
                    return alert; // the caller grows dst and asks again
                }
                state = State.ALERT_SENT;
                return new SSLEngineResult(Status.OK, HandshakeStatus.NEED_UNWRAP, 0, alert.bytesProduced());
            }
        }

        @Override
        public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
            synchronized (lock) {
                if (state == State.OPEN) {
                    try {
                        return engine.unwrap(src, dsts, offset, length);
                    } catch (SSLException e) {
                        failed(e);
                    }
                }
                if (state == State.FAILED) {
                    return new SSLEngineResult(Status.OK, HandshakeStatus.NEED_WRAP, 0, 0);
                }
                int n = src.remaining();
                discarded += n;
                if (discarded > LINGER_LIMIT) {
                    throw failure;
                }
                src.position(src.limit());
                return new SSLEngineResult(Status.OK, HandshakeStatus.NEED_UNWRAP, n, 0);
            }
        }

        private void failed(SSLException e) {
            LOG.debug("TLS connection failed ({}); sending the alert", e.getMessage());
            failure = e;
            state = State.FAILED;
        }

        @Override
        public HandshakeStatus getHandshakeStatus() {
            synchronized (lock) {
                return switch (state) {
                    case OPEN -> engine.getHandshakeStatus();
                    case FAILED -> HandshakeStatus.NEED_WRAP;
                    case ALERT_SENT -> HandshakeStatus.NEED_UNWRAP;
                };
            }
        }

        @Override
        public Runnable getDelegatedTask() {
            return engine.getDelegatedTask();
        }

        @Override
        public void closeInbound() throws SSLException {
            engine.closeInbound();
        }

        @Override
        public boolean isInboundDone() {
            return engine.isInboundDone();
        }

        @Override
        public void closeOutbound() {
            engine.closeOutbound();
        }

        @Override
        public boolean isOutboundDone() {
            return engine.isOutboundDone();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return engine.getSupportedCipherSuites();
        }

        @Override
        public String[] getEnabledCipherSuites() {
            return engine.getEnabledCipherSuites();
        }

        @Override
        public void setEnabledCipherSuites(String[] suites) {
            engine.setEnabledCipherSuites(suites);
        }

        @Override
        public String[] getSupportedProtocols() {
            return engine.getSupportedProtocols();
        }

        @Override
        public String[] getEnabledProtocols() {
            return engine.getEnabledProtocols();
        }

        @Override
        public void setEnabledProtocols(String[] protocols) {
            engine.setEnabledProtocols(protocols);
        }

        @Override
        public SSLSession getSession() {
            return engine.getSession();
        }

        @Override
        public SSLSession getHandshakeSession() {
            return engine.getHandshakeSession();
        }

        @Override
        public void beginHandshake() throws SSLException {
            engine.beginHandshake();
        }

        @Override
        public void setUseClientMode(boolean mode) {
            engine.setUseClientMode(mode);
        }

        @Override
        public boolean getUseClientMode() {
            return engine.getUseClientMode();
        }

        @Override
        public void setNeedClientAuth(boolean need) {
            engine.setNeedClientAuth(need);
        }

        @Override
        public boolean getNeedClientAuth() {
            return engine.getNeedClientAuth();
        }

        @Override
        public void setWantClientAuth(boolean want) {
            engine.setWantClientAuth(want);
        }

        @Override
        public boolean getWantClientAuth() {
            return engine.getWantClientAuth();
        }

        @Override
        public void setEnableSessionCreation(boolean flag) {
            engine.setEnableSessionCreation(flag);
        }

        @Override
        public boolean getEnableSessionCreation() {
            return engine.getEnableSessionCreation();
        }

        @Override
        public SSLParameters getSSLParameters() {
            return engine.getSSLParameters();
        }

        @Override
        public void setSSLParameters(SSLParameters params) {
            engine.setSSLParameters(params);
        }

        @Override
        public String getApplicationProtocol() {
            return engine.getApplicationProtocol();
        }

        @Override
        public String getHandshakeApplicationProtocol() {
            return engine.getHandshakeApplicationProtocol();
        }

        @Override
        public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
            engine.setHandshakeApplicationProtocolSelector(selector);
        }

        @Override
        public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
            return engine.getHandshakeApplicationProtocolSelector();
        }
    }
}
