package io.msiagent.core.testing;

import io.msiagent.core.EncodedKeyAndCertificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Base64;

/**
 * Certificates damaged where only the JDK's decoder notices (inside a name): the JCA-free check a
 * store makes at load accepts them, the JDK refuses them. With the metadata's thumbprint changed to
 * match, such an entry stands for one a stricter JDK than the one that saved it would refuse.
 */
public final class UndecodableCertificates {
    private UndecodableCertificates() {
    }

    /** The first single-bit flip of {@code der} that the check accepts (with {@code pkcs8}, the certificate's key) and the JDK refuses. */
    public static byte[] damagedWhereOnlyTheJdkNotices(byte[] pkcs8, byte[] der) {
        for (int i = 0; i < der.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = der.clone();
                flipped[i] ^= (byte) (1 << bit);
                if (EncodedKeyAndCertificate.ifWellFormed(pkcs8, flipped).isPresent() && !jdkDecodes(flipped)) {
                    return flipped;
                }
            }
        }
        throw new AssertionError("no flip the check accepts and the JDK refuses");
    }

    public static boolean jdkDecodes(byte[] der) {
        try {
            CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
            return true;
        } catch (CertificateException refused) {
            return false;
        }
    }

    /** A PEM file of a key and one certificate, as the Linux store writes it. */
    public static byte[] pem(byte[] pkcs8, byte[] certificate) {
        Base64.Encoder b64 = Base64.getMimeEncoder(64, new byte[] {'\n'});
        return ("-----BEGIN PRIVATE KEY-----\n" + b64.encodeToString(pkcs8) + "\n-----END PRIVATE KEY-----\n"
                + "-----BEGIN CERTIFICATE-----\n" + b64.encodeToString(certificate) + "\n-----END CERTIFICATE-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }
}
