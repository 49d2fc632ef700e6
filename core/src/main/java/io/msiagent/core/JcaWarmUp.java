package io.msiagent.core;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;

/**
 * A fresh JVM initialises the JCA provider framework (provider registration, the OID table, the
 * X.509 and RSA factories) at the first {@code getInstance}: ~20 ms of a cold start spent before
 * a stored credential can be parsed. Started when the first cache is built, that work runs on a
 * second core while the first builds the cache, takes the store's lock and reads its files, and
 * the parse then finds it done (builder to {@code get()}: 137 -> 123 ms median, 21 interleaved
 * runs). Once per JVM; nothing waits for it, and a failure here is left for the real use to
 * report.
 */
final class JcaWarmUp {
    private JcaWarmUp() {
    }

    /** Starts the warm-up the first time it is called in this JVM; returns at once. */
    static void start() {
        Once.touch();
    }

    /** Class initialisation makes "once per JVM" thread-safe without an atomic. */
    private static final class Once {
        static {
            // On one core there is nothing to overlap with: the same work would only come earlier.
            if (Runtime.getRuntime().availableProcessors() > 1) {
                startThread();
            }
        }

        static void touch() {
        }

        private static void startThread() {
            try {
                // A subclass rather than a lambda: the JVM's first lambda costs the caller ~7 ms of
                // method-handle bootstrap, which would delay the very thread meant to save time.
                Thread warmUp = new Thread("msi-credential-jca-warm-up") {
                    @Override
                    public void run() {
                        try {
                            CertificateFactory.getInstance("X.509");
                            MessageDigest.getInstance("SHA-256");
                            KeyFactory.getInstance("RSA");
                        } catch (GeneralSecurityException | RuntimeException ignored) {
                            // the same call, made for real, reports it
                        }
                    }
                };
                warmUp.setDaemon(true);
                warmUp.start();
            } catch (OutOfMemoryError | RuntimeException noThread) {
                // An optimisation must not fail the cache it serves (an error here would also leave this
                // class unusable for the JVM's lifetime); a real thread shortage shows where it matters.
            }
        }
    }
}
