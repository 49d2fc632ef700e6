package io.msiagent.cli.emulator;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.spec.ECGenParameterSpec;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The token endpoint's TLS: an EC server certificate for 127.0.0.1 / localhost from the emulator CA,
 * and client certificates accepted only when they chain to that CA (PKIX, validity checked). A
 * pending {@link Fault.Kind#TLS_REFUSAL} makes the next full handshake fail with a certificate alert.
 * A refused client is sent the alert ({@link AlertSendingTls}), not just disconnected.
 */
final class TokenEndpointTls {
    private static final Logger LOG = LoggerFactory.getLogger(TokenEndpointTls.class);
    private static final char[] PASSWORD = "emulator".toCharArray();

    private TokenEndpointTls() {
    }

    static SSLContext serverContext(EmulatorCa ca, Faults faults, Clock clock) throws GeneralSecurityException {
        // EC P-256: generated in microseconds (an RSA key would double the start time), understood by every TLS client.
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair serverKeys = ec.generateKeyPair();
        X509Certificate serverCert = ca.issueServerCertificate(serverKeys.getPublic(), clock);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try {
            ks.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
        ks.setKeyEntry("server", serverKeys.getPrivate(), PASSWORD,
                new X509Certificate[] {serverCert, ca.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), new TrustManager[] {new FaultableClientTrust(caTrustManager(ca), faults)},
                new SecureRandom());
        return AlertSendingTls.wrap(ctx);
    }

    /** A trust manager that trusts exactly the emulator CA. */
    static X509TrustManager caTrustManager(EmulatorCa ca) throws GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try {
            trust.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
        trust.setCertificateEntry("emulator-ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509TrustManager");
    }

    /** Client-side checks delegate to the CA trust manager after consulting the fault queue. */
    private static final class FaultableClientTrust extends X509ExtendedTrustManager {
        private final X509TrustManager delegate;
        private final Faults faults;

        FaultableClientTrust(X509TrustManager delegate, Faults faults) {
            this.delegate = delegate;
            this.faults = faults;
        }

        private void check(X509Certificate[] chain, String authType) throws CertificateException {
            if (faults.take(EmulatorPath.TOKEN, Fault.Kind.TLS_REFUSAL)) {
                LOG.info("Injecting fault on token: refusing the TLS client certificate");
                throw new CertificateException("client certificate refused (emulated fault)");
            }
            try {
                delegate.checkClientTrusted(chain, authType);
            } catch (CertificateException e) {
                LOG.info("Refused a TLS client certificate ({}): {}",
                        chain.length > 0 ? chain[0].getSubjectX500Principal() : "none", e.getMessage());
                throw e;
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("server-side trust manager");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("server-side trust manager");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("server-side trust manager");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }
}
