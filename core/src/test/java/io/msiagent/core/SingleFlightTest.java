package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.FakeScheduledExecutor;
import io.msiagent.core.testing.MutableClock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** 1,000 real threads on a cold cache: one issuance, one shared outcome. */
class SingleFlightTest {
    private static final int THREADS = 1000;

    private final MutableClock clock = MutableClock.atNow();
    private final FakeIssuer imds = new FakeIssuer(clock);

    private MsiCredentialCache cache() {
        return MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(new FakeScheduledExecutor(clock)).build();
    }

    @Test
    void thousandConcurrentColdGetsCauseExactlyOneIssuance() throws Exception {
        imds.gate = new CountDownLatch(1);
        try (MsiCredentialCache cache = cache()) {
            ConcurrentLinkedQueue<Object> outcomes = new ConcurrentLinkedQueue<>();
            List<Thread> threads = startAll(() -> {
                try {
                    outcomes.add(cache.get());
                } catch (RuntimeException e) {
                    outcomes.add(e);
                }
            });
            awaitAllParked(threads);
            imds.gate.countDown();
            joinAll(threads);

            assertEquals(THREADS, outcomes.size());
            assertEquals(1, imds.issueCalls.get());
            assertEquals(1, imds.metadataCalls.get());
            Set<Object> distinct = distinctInstances(outcomes);
            assertEquals(1, distinct.size(), "everyone got the same credential instance");
            assertEquals(1, ((MtlsCredential) distinct.iterator().next()).generation());
        }
    }

    @Test
    void thousandConcurrentColdGetsShareOneFailureInsteadOfEachRetrying() throws Exception {
        imds.gate = new CountDownLatch(1);
        imds.failNext(1);
        try (MsiCredentialCache cache = cache()) {
            ConcurrentLinkedQueue<Object> outcomes = new ConcurrentLinkedQueue<>();
            List<Thread> threads = startAll(() -> {
                try {
                    outcomes.add(cache.get());
                } catch (RuntimeException e) {
                    outcomes.add(e);
                }
            });
            awaitAllParked(threads);
            imds.gate.countDown();
            joinAll(threads);

            assertEquals(1, imds.issueCalls.get(), "one attempt for all");
            Set<Object> distinct = distinctInstances(outcomes);
            assertEquals(1, distinct.size(), "one shared error");
            assertTrue(distinct.iterator().next() instanceof IssuanceException, distinct.toString());

            imds.gate = null;
            assertEquals(1, cache.get().generation(), "the next call tries again");
            assertEquals(2, imds.issueCalls.get());
        }
    }

    private static Set<Object> distinctInstances(ConcurrentLinkedQueue<Object> outcomes) {
        Set<Object> distinct = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        distinct.addAll(outcomes);
        return distinct;
    }

    private static List<Thread> startAll(Runnable body) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Thread t = new Thread(body, "getter-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        return threads;
    }

    /** Until the leader waits at the gate and every other thread waits for the shared flight. */
    private static void awaitAllParked(List<Thread> threads) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            long parked = threads.stream().filter(t -> t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING).count();
            if (parked == THREADS) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "only " + parked + " of " + THREADS + " threads parked in time");
            Thread.sleep(20);
        }
    }

    private static void joinAll(List<Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertTrue(!t.isAlive(), t.getName() + " finished");
        }
    }
}
