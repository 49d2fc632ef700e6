package io.msiagent.tests.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Locale;

/**
 * The floor under a cold start that checks, with the JDK and one step after another, what it loads:
 * a fresh JVM that only reads a stored entry's PEM and metadata files and computes the certificate's
 * SHA-256 thumbprint (what ties the two together), without making a key or certificate object. Prints
 * {@code {"floorMillis":..,"digestMillis":..,"matches":..}}; {@code digestMillis} is the share of the
 * first {@code MessageDigest} use. Usage: {@code ThumbprintFloor <msal_mtls.pem> <msal_mtls.json>}.
 */
public final class ThumbprintFloor {
    private ThumbprintFloor() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        String pem = Files.readString(Path.of(args[0]), StandardCharsets.US_ASCII);
        String metadata = Files.readString(Path.of(args[1]), StandardCharsets.UTF_8);
        String begin = "-----BEGIN CERTIFICATE-----";
        int start = pem.indexOf(begin);
        int end = pem.indexOf("-----END CERTIFICATE-----", start);
        if (start < 0 || end < 0) {
            throw new IllegalArgumentException("no CERTIFICATE block in " + args[0]);
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(start + begin.length(), end));
        long t1 = System.nanoTime();
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(der);
        long t2 = System.nanoTime();
        String x5t = Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        boolean matches = metadata.contains("\"" + x5t + "\"");
        long t3 = System.nanoTime();
        System.out.printf(Locale.ROOT, "{\"floorMillis\":%.3f,\"digestMillis\":%.3f,\"matches\":%b}%n",
                (t3 - t0) / 1e6, (t2 - t1) / 1e6, matches);
    }
}
