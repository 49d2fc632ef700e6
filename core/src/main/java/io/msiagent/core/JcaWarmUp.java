package io.msiagent.core;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import org.slf4j.LoggerFactory;

/**
 * A fresh JVM initialises the JCA provider framework (provider registration, the OID table, the
 * RSA and X.509 factories, SHA-256) at the first {@code getInstance}: ~20-30 ms. Serving a stored
 * credential needs none of it (EncodedKeyAndCertificate), but the decoding that follows on the
 * cache's worker and the first handshake do. Started when the first cache is built, that start-up
 * runs on a second core while the first builds the cache and serves the stored credential, so the
 * decoding finds it done: builder to decoded key and certificate 110 -> 89 ms, for ~1 ms more to
 * get() (docs/BENCHMARKS.md). Nothing waits for the warm-up as such, and it never fails the cache:
 * whatever goes wrong here goes wrong again at the real use, which reports it.
 *
 * <p>Two threads initialising the JCA at once is what the start of any multi-threaded TLS client
 * does; to keep clear of class-initialisation cycles all the same, the warm-up takes the factories
 * in the order the decoding does (certificate, key), then the digest.
 */
final class JcaWarmUp {
    private static boolean started;

    private JcaWarmUp() {
    }

    /**
     * Starts the warm-up the first time it is called in this class loader; returns at once. A plain
     * synchronized flag: an {@code AtomicBoolean}'s {@code VarHandle} would spin method-handle
     * forms on the caller's thread, the kind of start-up cost this class exists to take off it.
     */
    static synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        // On one core there is nothing to overlap with: the same work would only come earlier.
        if (Runtime.getRuntime().availableProcessors() < 2) {
            return;
        }
        try {
            Thread warmUp = new WarmUpThread();
            warmUp.setDaemon(true);
            warmUp.start();
        } catch (OutOfMemoryError | RuntimeException noThread) {
            // a thread that cannot start is only a missed optimisation; a real shortage shows where it matters
        }
    }

    /*
     * A class rather than a lambda: the JVM's first lambda costs the caller ~8 ms of method-handle
     * bootstrap, which would delay the very thread meant to save time.
     */
    private static final class WarmUpThread extends Thread {
        WarmUpThread() {
            // no inherited thread-locals: nothing of the creating thread (a request context, say) rides along
            super(null, null, "msi-credential-jca-warm-up", 0, false);
        }

        @Override
        public void run() {
            try {
                CertificateFactory.getInstance("X.509");
                KeyFactory.getInstance("RSA");
                MessageDigest.getInstance("SHA-256");
            } catch (GeneralSecurityException | RuntimeException ignored) {
                // the same call, made for real, reports it
            } catch (Throwable broken) {
                // A class that fails to initialise here fails at the real use only as "NoClassDefFoundError:
                // Could not initialize class", without this cause: so the log says it once (and the
                // uncaught-exception handler, which would print to stderr, never sees it).
                LoggerFactory.getLogger(JcaWarmUp.class).warn("The JCA failed to start; the first use of the key or "
                        + "certificate will fail too", broken);
            }
        }
    }
}
