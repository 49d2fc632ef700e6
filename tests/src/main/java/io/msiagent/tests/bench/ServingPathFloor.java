package io.msiagent.tests.bench;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The floor of a lean serving path, for the design question of issue 8's bare-JVM cold start: how
 * fast could {@code get()} return a stored credential if the cache only read the store on the
 * caller's thread and built its engine (the cache class, its executor) elsewhere? {@code peek}: a
 * fresh JVM builds the Linux store and peeks the entry, nothing else. {@code parallel}: the same on
 * the main thread while a second thread loads and initialises {@code MsiCredentialCache} and starts
 * a scheduled executor; timed until both are done. Prints {@code {"floorMillis":..}}.
 * Usage: {@code ServingPathFloor peek|parallel <store directory>}.
 */
public final class ServingPathFloor {
    private ServingPathFloor() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        Thread engine = null;
        if (args[0].equals("parallel")) {
            // A class, not a lambda: the first lambda of a JVM costs the thread that makes it ~8 ms.
            engine = new EngineStart();
            engine.start();
        }
        Optional<MtlsCredential> c = LinuxCredentialStore.builder().directory(Path.of(args[1])).build()
                .peek(ManagedIdentityId.systemAssigned());
        if (engine != null) {
            engine.join();
        }
        long t1 = System.nanoTime();
        if (c.isEmpty()) {
            throw new IllegalStateException("no usable entry in " + args[1]);
        }
        System.out.printf(Locale.ROOT, "{\"floorMillis\":%.3f}%n", (t1 - t0) / 1e6);
    }

    private static final class EngineStart extends Thread {
        @Override
        public void run() {
            try {
                Class.forName("io.msiagent.core.MsiCredentialCache", true, ServingPathFloor.class.getClassLoader());
                ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1);
                timers.schedule(new Nothing(), 1, TimeUnit.HOURS);
                timers.shutdownNow();
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final class Nothing implements Runnable {
        @Override
        public void run() {
        }
    }
}
