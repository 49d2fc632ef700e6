package io.msiagent.tests.bench;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.msiagent.core.InMemoryCredentialStore;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A warmed-up cache for the benchmarks, with no IMDS involved: a fresh credential (from a throwaway
 * CA) is pre-stored, and a loopback mTLS token endpoint (the JDK's HttpsServer, client certificate
 * required) answers token requests.
 */
final class BenchFixture implements AutoCloseable {
    static final String TENANT = "751a212b-4003-416e-b600-e1f48e40db9f";
    static final String CLIENT = "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3";
    static final String RESOURCE = "https://management.azure.com";

    final MsiCredentialCache cache;
    private final HttpsServer tokenServer;

    BenchFixture() throws Exception {
        KeyPair caKeys = rsa();
        X509Certificate ca = certificate("CN=bench CA", caKeys, "CN=bench CA", caKeys, true, null);
        KeyPair serverKeys = rsa();
        X509Certificate server = certificate("CN=bench CA", caKeys, "CN=127.0.0.1", serverKeys, false, "127.0.0.1");
        KeyPair clientKeys = rsa();
        X509Certificate client = certificate("CN=bench CA", caKeys, "DC=" + TENANT + ",CN=" + CLIENT, clientKeys, false, null);

        tokenServer = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        tokenServer.setHttpsConfigurator(new HttpsConfigurator(serverContext(ca, server, serverKeys)) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = getSSLContext().getDefaultSSLParameters();
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        });
        tokenServer.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] body = "{\"token_type\":\"bearer\",\"expires_in\":3599,\"access_token\":\"bench-token\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        tokenServer.start();

        ManagedIdentityId identity = ManagedIdentityId.systemAssigned();
        Instant notBefore = client.getNotBefore().toInstant();
        MtlsCredential credential = MtlsCredential.builder()
                .identity(identity)
                .chain(List.of(client))
                .privateKey(clientKeys.getPrivate())
                .clientId(CLIENT)
                .tenantId(TENANT)
                .tokenEndpoint("https://127.0.0.1:" + tokenServer.getAddress().getPort() + "/" + TENANT + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(Duration.ofDays(3)))
                .keyProtection(KeyProtection.SOFTWARE)
                .build();
        InMemoryCredentialStore store = new InMemoryCredentialStore();
        store.save(credential);
        cache = MsiCredentialCache.builder().identity(identity).store(store).keyAttestor(null)
                .trustedCertificates(List.of(ca)).build();
        cache.get();
        cache.acquireToken(RESOURCE);
    }

    private static SSLContext serverContext(X509Certificate ca, X509Certificate server, KeyPair serverKeys) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", serverKeys.getPrivate(), new char[0], new X509Certificate[] {server, ca});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate certificate(String issuer, KeyPair issuerKeys, String subject, KeyPair subjectKeys, boolean ca,
                                               String ipSan) throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name(issuer), BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(7))), new X500Name(subject),
                subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (ipSan != null) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.iPAddress, ipSan)));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    @Override
    public void close() {
        cache.close();
        tokenServer.stop(0);
    }
}
