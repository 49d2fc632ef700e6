package io.msiagent.tests.bench;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Locale;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The yardstick the targets were set against, run on the same machine in the same run:
 * a fresh JVM that parses a PEM key and certificate with the JDK alone, then builds an SSLContext
 * with a KeyStore-backed key manager. Prints {@code {"pemMillis":..,"sslContextMillis":..}}.
 * Usage: {@code JdkPemBaseline <msal_mtls.pem>}.
 */
public final class JdkPemBaseline {
    private JdkPemBaseline() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        String pem = Files.readString(Path.of(args[0]), StandardCharsets.US_ASCII);
        PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(block(pem, "PRIVATE KEY")));
        Certificate cert = CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(block(pem, "CERTIFICATE")));
        long t1 = System.nanoTime();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("credential", key, new char[0], new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "{\"pemMillis\":%.3f,\"sslContextMillis\":%.3f}%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }

    private static byte[] block(String pem, String type) {
        String begin = "-----BEGIN " + type + "-----";
        int start = pem.indexOf(begin);
        int end = pem.indexOf("-----END " + type + "-----", start);
        if (start < 0 || end < 0) {
            throw new IllegalArgumentException("no " + type + " block");
        }
        return Base64.getMimeDecoder().decode(pem.substring(start + begin.length(), end));
    }
}
