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

/**
 * The PEM file: one PKCS#8 {@code PRIVATE KEY} block, then the leaf certificate and any
 * intermediates as {@code CERTIFICATE} blocks; what {@code openssl} and {@code curl --cert} read.
 * {@link #decode} yields the DER blocks; {@link Contents#decodeWithJdk} makes JDK objects of them
 * (no Bouncy Castle provider on the load path: cold start stays lean).
 */
final class PemCodec {
    private static final String BEGIN = "-----BEGIN ";
    private static final String DASHES = "-----";
    private static final String KEY = "PRIVATE KEY";
    private static final String CERTIFICATE = "CERTIFICATE";

    /** A PEM file's blocks: the PKCS#8 key and the DER certificates, leaf first. */
    record Contents(byte[] pkcs8, List<byte[]> certificates) {
        /** The key and chain as JDK objects; throws when the JDK's decoders refuse them. */
        Decoded decodeWithJdk() throws MalformedPemException {
            List<X509Certificate> chain = PemCodec.certificates(certificates); // first, as ColdStartWarmUp and the lazy decoding take them
            return new Decoded(privateKey(pkcs8), chain);
        }
    }

    /** The key and chain as JDK objects. */
    record Decoded(PrivateKey privateKey, List<X509Certificate> chain) {
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

    /**
     * Reads every well-formed block: {@code -----BEGIN <TYPE>-----}, a line break, base64 and
     * white space only, {@code -----END <TYPE>-----}. Anything else (text between blocks, blocks of
     * other types, a block whose body is not base64) is skipped, as openssl does. Scanned by hand:
     * a regular expression with a back-reference costs a fresh JVM's cold start several ms.
     */
    static Contents decode(byte[] pem) throws MalformedPemException {
        String text = new String(pem, StandardCharsets.US_ASCII);
        byte[] key = null;
        List<byte[]> certs = new ArrayList<>();
        int from = 0;
        for (int begin = text.indexOf(BEGIN); begin >= 0; begin = text.indexOf(BEGIN, from)) {
            from = begin + 1;
            int typeEnd = text.indexOf(DASHES, begin + BEGIN.length());
            if (typeEnd < 0) {
                break;
            }
            String type = text.substring(begin + BEGIN.length(), typeEnd);
            int body = lineBreakEnd(text, typeEnd + DASHES.length());
            if (!isBlockType(type) || body < 0) {
                continue;
            }
            // The body ends at its first character that is neither base64 nor white space; the
            // matching END line must start right there (one pass: no search to the end of the file).
            int bodyEnd = base64BodyEnd(text, body);
            String end = "-----END " + type + DASHES;
            if (!text.startsWith(end, bodyEnd)) {
                continue;
            }
            from = bodyEnd + end.length();
            if (type.equals(KEY)) {
                if (key != null) {
                    throw new MalformedPemException("more than one PRIVATE KEY block");
                }
                key = base64(text.substring(body, bodyEnd));
            } else if (type.equals(CERTIFICATE)) {
                certs.add(base64(text.substring(body, bodyEnd)));
            }
        }
        if (key == null) {
            throw new MalformedPemException("no complete PRIVATE KEY block");
        }
        if (certs.isEmpty()) {
            throw new MalformedPemException("no complete CERTIFICATE block");
        }
        return new Contents(key, certs);
    }

    private static boolean isBlockType(String type) {
        if (type.isEmpty()) {
            return false;
        }
        for (int i = 0; i < type.length(); i++) {
            char c = type.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ')) {
                return false;
            }
        }
        return true;
    }

    /** The index after the line break ({@code \r\n}, {@code \n} or {@code \r}) at {@code i}, or -1 if there is none. */
    private static int lineBreakEnd(String text, int i) {
        if (text.startsWith("\r\n", i)) {
            return i + 2;
        }
        return i < text.length() && (text.charAt(i) == '\n' || text.charAt(i) == '\r') ? i + 1 : -1;
    }

    /** The index of the first character from {@code from} on that is neither base64 nor white space. */
    private static int base64BodyEnd(String text, int from) {
        int i = from;
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean base64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
            if (!base64 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x0B) {
                break;
            }
        }
        return i;
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
