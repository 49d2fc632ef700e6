package io.msiagent.store.linux;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PEM file: one PKCS#8 {@code PRIVATE KEY} block, then the leaf certificate and any
 * intermediates as {@code CERTIFICATE} blocks; what {@code openssl} and {@code curl --cert} read.
 * Parsed with the JDK alone (no Bouncy Castle provider on the load path: cold start stays lean).
 */
final class PemCodec {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\R([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    private static final String KEY = "PRIVATE KEY";
    private static final String CERTIFICATE = "CERTIFICATE";

    /** A parsed PEM file. */
    record Contents(PrivateKey privateKey, List<X509Certificate> chain) {
    }

    /** Thrown for a file that is not a well-formed key + certificate PEM; the message says why. */
    static final class MalformedPemException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedPemException(String message) {
            super(message);
        }
    }

    private PemCodec() {
    }

    static byte[] encode(byte[] pkcs8Key, List<X509Certificate> chain) throws GeneralSecurityException {
        StringBuilder sb = new StringBuilder(4096);
        block(sb, KEY, pkcs8Key);
        for (X509Certificate c : chain) {
            block(sb, CERTIFICATE, c.getEncoded());
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static Contents decode(byte[] pem) throws MalformedPemException {
        Matcher m = BLOCK.matcher(new String(pem, StandardCharsets.US_ASCII));
        byte[] key = null;
        List<byte[]> certs = new ArrayList<>();
        while (m.find()) {
            byte[] der = base64(m.group(2));
            if (m.group(1).equals(KEY)) {
                if (key != null) {
                    throw new MalformedPemException("more than one PRIVATE KEY block");
                }
                key = der;
            } else if (m.group(1).equals(CERTIFICATE)) {
                certs.add(der);
            }
        }
        if (key == null) {
            throw new MalformedPemException("no complete PRIVATE KEY block");
        }
        if (certs.isEmpty()) {
            throw new MalformedPemException("no complete CERTIFICATE block");
        }
        return new Contents(privateKey(key), certificates(certs));
    }

    private static PrivateKey privateKey(byte[] pkcs8) throws MalformedPemException {
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new MalformedPemException("PRIVATE KEY block is not a PKCS#8 RSA key");
        }
    }

    private static List<X509Certificate> certificates(List<byte[]> ders) throws MalformedPemException {
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            List<X509Certificate> chain = new ArrayList<>(ders.size());
            for (byte[] der : ders) {
                chain.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(der)));
            }
            return chain;
        } catch (CertificateException | RuntimeException e) {
            throw new MalformedPemException("CERTIFICATE block is not a DER X.509 certificate");
        }
    }

    private static byte[] base64(String body) throws MalformedPemException {
        try {
            return Base64.getMimeDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new MalformedPemException("PEM block is not base64");
        }
    }

    private static void block(StringBuilder sb, String type, byte[] der) {
        sb.append("-----BEGIN ").append(type).append("-----\n");
        String b64 = Base64.getEncoder().encodeToString(der);
        for (int i = 0; i < b64.length(); i += 64) {
            sb.append(b64, i, Math.min(b64.length(), i + 64)).append('\n');
        }
        sb.append("-----END ").append(type).append("-----\n");
    }
}
