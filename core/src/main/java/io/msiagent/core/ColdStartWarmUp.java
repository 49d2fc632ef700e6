package io.msiagent.core;

import io.msiagent.core.spi.CredentialStore;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Most of a cold {@code get()} in a fresh JVM is class loading, not work: the store's read path,
 * then what publishing a credential needs (its timers, its event), then, for the decoding that
 * follows on the cache's worker and the first handshake, the JCA provider framework (provider
 * registration, the OID table, the RSA and X.509 factories, SHA-256: ~20-30 ms). Started when the
 * first cache is built, this thread loads them in that order on the second core while the caller's
 * thread finishes building the cache and starts the read, which then finds much of its way paved
 * (docs/BENCHMARKS.md has the measurements). Nothing waits for the warm-up, and it never fails the
 * cache: whatever goes wrong here goes wrong again at the real use, which reports it.
 *
 * <p>Two threads loading and initialising the same classes at once is what the start of any
 * multi-threaded program does; to keep clear of class-initialisation cycles all the same, the
 * warm-up takes them in the order a cold {@code get()} does, and the JCA factories in the order the
 * decoding does (certificate, key), then the digest.
 */
final class ColdStartWarmUp {
    /**
     * What serving a stored credential loads after the store's own classes, in that order: the
     * credential's, the timers and their futures, the event. Named, not referenced, so that a
     * missing one (another JDK's internals) is skipped rather than an error.
     */
    static final List<String> PUBLICATION_CLASSES = List.of(
            "io.msiagent.core.MtlsCredential",
            "io.msiagent.core.MtlsCredential$Builder",
            "io.msiagent.core.DerReader",
            "io.msiagent.core.Sha256",
            "io.msiagent.imds.TokenType",
            "io.msiagent.core.MsiCredentialCache$ExpiryTimer",
            "java.util.concurrent.FutureTask",
            "java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask",
            "java.util.concurrent.Executors$RunnableAdapter",
            "io.msiagent.core.MsiCredentialCache$RenewalTimer",
            "io.msiagent.core.MsiCredentialCache$ClockCheck",
            "io.msiagent.core.CredentialEvent",
            "io.msiagent.core.CredentialEvent$Type",
            "io.msiagent.core.ListenerDelivery$Pending");

    private static boolean started;

    private ColdStartWarmUp() {
    }

    /**
     * Starts the warm-up the first time it is called in this class loader; returns at once. A plain
     * synchronized flag: an {@code AtomicBoolean}'s {@code VarHandle} would spin method-handle
     * forms on the caller's thread, the kind of start-up cost this class exists to take off it.
     */
    static synchronized void start(CredentialStore store) {
        if (started) {
            return;
        }
        started = true;
        // On one core there is nothing to overlap with: the same work would only come earlier.
        if (Runtime.getRuntime().availableProcessors() < 2) {
            return;
        }
        try {
            Thread warmUp = new WarmUpThread(store);
            warmUp.setDaemon(true);
            warmUp.start();
        } catch (OutOfMemoryError | RuntimeException noThread) {
            // a thread that cannot start is only a missed optimisation; a real shortage shows where it matters
        }
    }

    /** The warm-up itself, on the calling thread; never throws. */
    static void run(CredentialStore store) {
        try {
            load(store.getClass().getClassLoader(), store.warmUpClasses());
        } catch (RuntimeException | LinkageError ignored) {
            // the store's real read reports whatever is wrong
        }
        load(ColdStartWarmUp.class.getClassLoader(), PUBLICATION_CLASSES);
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
            LoggerFactory.getLogger(ColdStartWarmUp.class).warn("The JCA failed to start; the first use of the key or "
                    + "certificate will fail too", broken);
        }
    }

    /**
     * Loads each named class that exists, in order. The JDK's are left for their real use to
     * initialise (no initialisation order of its internals across threads to reason about); ours
     * are linked and initialised too, as their bytecode verification, done at linking, is most of
     * what loading them costs (the JDK's, from its own image, are not verified).
     */
    static void load(ClassLoader loader, List<String> classNames) {
        ClassLoader platform = ClassLoader.getPlatformClassLoader();
        for (String name : classNames) {
            try {
                Class<?> c = Class.forName(name, false, loader);
                if (c.getClassLoader() != null && c.getClassLoader() != platform) {
                    Class.forName(name, true, loader);
                }
            } catch (ClassNotFoundException | LinkageError ignored) {
                // another JDK's internals, or a class that is broken: its real use reports that
            }
        }
    }

    /*
     * A class rather than a lambda: the JVM's first lambda costs the caller ~8 ms of method-handle
     * bootstrap, which would delay the very thread meant to save time.
     */
    private static final class WarmUpThread extends Thread {
        private final CredentialStore store;

        WarmUpThread(CredentialStore store) {
            // no inherited thread-locals: nothing of the creating thread (a request context, say) rides along
            super(null, null, "msi-credential-warm-up", 0, false);
            this.store = store;
        }

        @Override
        public void run() {
            ColdStartWarmUp.run(store);
        }
    }
}
