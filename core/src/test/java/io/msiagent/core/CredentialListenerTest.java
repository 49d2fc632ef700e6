package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.FakeScheduledExecutor;
import io.msiagent.core.testing.MutableClock;
import io.msiagent.imds.AccessToken;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Listeners that call back into the cache, block, or throw, while the worker publishes a successor:
 * every caller is released, and every event is delivered, in order. The default worker (its own
 * thread) throughout, with the engine's timers on a fake clock.
 */
class CredentialListenerTest {
    private final MutableClock clock = MutableClock.atNow();
    private final FakeScheduledExecutor executor = new FakeScheduledExecutor(clock);
    private final FakeIssuer imds = new FakeIssuer(clock);
    private final List<MsiCredentialCache> caches = new ArrayList<>();
    private final ExecutorService app = Executors.newCachedThreadPool();

    private MsiCredentialCache.Builder builder() {
        imds.lifetime = Duration.ofHours(1);
        return MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).prepareKeys(false);
    }

    private MsiCredentialCache track(MsiCredentialCache cache) {
        caches.add(cache);
        return cache;
    }

    /**
     * Events may be delivered by a thread that was already delivering (the worker that just released
     * a caller): the thread that caused them does not always deliver them itself before it returns.
     */
    private static void awaitSize(List<?> list, int size) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (list.size() < size && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    @AfterEach
    void close() {
        caches.forEach(MsiCredentialCache::close);
        app.shutdownNow();
    }

    @Test
    void aListenerToldOfAnExpiryMayWaitForAnotherThreadThatNeedsTheSuccessor() throws Exception {
        MsiCredentialCache cache = track(builder().build());
        cache.get();
        List<String> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> {
            heard.add(e.type().name());
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                Future<MtlsCredential> other = app.submit(cache::get); // the application's own thread
                try {
                    heard.add("other thread got generation " + other.get(20, TimeUnit.SECONDS).generation());
                } catch (Exception ex) {
                    heard.add("other thread: " + ex);
                }
            }
        });
        clock.advance(Duration.ofHours(2)); // the VM slept past notAfter

        assertTimeoutPreemptively(Duration.ofSeconds(20), cache::replan);

        awaitSize(heard, 3);
        assertEquals(List.of("EXPIRED", "other thread got generation 2", "RENEWED"), heard);
    }

    /**
     * The token endpoint, reached through an mTLS handshake: the cache's key manager presents the
     * current credential, acquiring one if there is none. A request on the thread named "fetcher"
     * first says so at {@code fetching} and waits at {@code handshake} (while it is above zero).
     */
    private TokenGateway endpointPresentingTheCredential(AtomicReference<MsiCredentialCache> cache, CountDownLatch fetching,
            CountDownLatch handshake) {
        return (tokenEndpoint, clientId, resource, type) -> {
            if (Thread.currentThread().getName().equals("fetcher") && handshake.getCount() > 0) {
                fetching.countDown();
                try {
                    handshake.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            X509ExtendedKeyManager km = cache.get().keyManager();
            X509Certificate presented = km.getCertificateChain(km.chooseClientAlias(new String[] {"RSA"}, null, null))[0];
            return new AccessToken("t", type, clock.instant().plus(Duration.ofMinutes(30)), MtlsCredential.x5tS256(presented));
        };
    }

    @Test
    void aListenerToldOfAnExpiryMayAskForATokenThatAnotherCallerIsFetching() throws Exception {
        listenerToldOfAnExpiryAsksForATokenWhoseFetcherNeedsTheSuccessor(true, MsiCredentialCache.LISTENER_GRACE);
    }

    @Test
    void aListenerToldOfAnExpiryMayAskAtOnceForATokenWhoseFetcherWaitsForTheSuccessor() throws Exception {
        // A grace far beyond the timeout below: only the listener's own wait may release the fetcher.
        listenerToldOfAnExpiryAsksForATokenWhoseFetcherNeedsTheSuccessor(false, Duration.ofMinutes(5));
    }

    /**
     * A caller's token request is under way when the credential expires; its handshake then finds no
     * credential and waits for the successor, holding the token lock. The listener told of the expiry
     * asks for the same token, once the successor is published or at once.
     */
    private void listenerToldOfAnExpiryAsksForATokenWhoseFetcherNeedsTheSuccessor(boolean afterTheSuccessorIsPublished,
            Duration listenerGrace) throws Exception {
        AtomicReference<MsiCredentialCache> ref = new AtomicReference<>();
        CountDownLatch fetching = new CountDownLatch(1);
        CountDownLatch handshake = new CountDownLatch(1);
        MsiCredentialCache cache = track(builder().tokenGateway(endpointPresentingTheCredential(ref, fetching, handshake))
                .listenerGrace(listenerGrace).build());
        ref.set(cache);
        cache.get();
        List<String> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> {
            heard.add(e.type().name());
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                handshake.countDown(); // the fetcher's handshake finds no credential and starts the successor
                while (afterTheSuccessorIsPublished && cache.currentPublished() == null) {
                    Thread.onSpinWait();
                }
                cache.acquireToken("https://vault.azure.net"); // waits for the fetcher's request
                heard.add("listener got its token");
            }
        });
        clock.advance(Duration.ofHours(2));
        Future<AccessToken> fetcher = app.submit(() -> {
            Thread.currentThread().setName("fetcher");
            return cache.acquireToken("https://vault.azure.net");
        });
        assertTrue(fetching.await(20, TimeUnit.SECONDS));

        assertTimeoutPreemptively(Duration.ofSeconds(20), cache::replan);

        awaitSize(heard, 3);
        assertEquals(cache.get().x5tS256(), fetcher.get(20, TimeUnit.SECONDS).x5tS256());
        assertEquals(List.of("EXPIRED", "listener got its token", "RENEWED"), heard);
    }

    @Test
    void aListenerThatGetsATokenWithoutWaitingDoesNotReleaseTheCallersBeforeTheOtherListenersAreTold() {
        AtomicReference<MsiCredentialCache> ref = new AtomicReference<>();
        CountDownLatch never = new CountDownLatch(0);
        MsiCredentialCache cache = track(builder().tokenGateway(endpointPresentingTheCredential(ref, never, never)).build());
        ref.set(cache);
        List<String> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> cache.acquireToken("https://vault.azure.net")); // the token lock is free: no wait
        cache.addListener(e -> {
            try {
                Thread.sleep(300); // slow: a caller released early would return before this listener is told
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            heard.add(e.type().name());
        });

        cache.get();

        assertEquals(List.of("ACQUIRED"), heard, "get() returned after every listener had heard of its credential");
    }

    @Test
    void callersOfAnAcquisitionDoNotWaitForListenersOfLaterEvents() throws Exception {
        MsiCredentialCache cache = track(builder().build());
        CountDownLatch getReturned = new CountDownLatch(1);
        List<String> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> {
            heard.add(e.type().name());
            if (e.type() == CredentialEvent.Type.ACQUIRED) {
                // Someone renews while the worker is still telling the listeners about the first credential.
                Future<MtlsCredential> renewal = app.submit(cache::refresh);
                while (!renewal.isDone() && (cache.currentPublished() == null || cache.currentPublished().credential.generation() < 2)) {
                    Thread.onSpinWait();
                }
            } else if (e.type() == CredentialEvent.Type.RENEWED) {
                try {
                    heard.add("get() had returned: " + getReturned.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        });

        MtlsCredential first = assertTimeoutPreemptively(Duration.ofSeconds(30), cache::get);
        getReturned.countDown();

        assertEquals(1, first.generation());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (heard.size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(List.of("ACQUIRED", "RENEWED", "get() had returned: true"), heard);
    }

    @Test
    void aListenerThrowingAnErrorStrandsNoEvent() throws Exception {
        MsiCredentialCache cache = track(builder().build());
        cache.get();
        List<String> heard = new CopyOnWriteArrayList<>();
        AtomicReference<Future<MtlsCredential>> other = new AtomicReference<>();
        cache.addListener(e -> {
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                other.set(app.submit(cache::get));
                while (cache.currentPublished() == null) {
                    Thread.onSpinWait();
                }
                throw new AssertionError("a listener's bug");
            }
        });
        cache.addListener(e -> heard.add(e.type().name()));
        clock.advance(Duration.ofHours(2));

        cache.replan();

        awaitSize(heard, 2);
        assertEquals(2, other.get().get(20, TimeUnit.SECONDS).generation());
        assertEquals(List.of("EXPIRED", "RENEWED"), heard, "the listener after the throwing one heard both, in order");
    }
}
