package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.FakeScheduledExecutor;
import io.msiagent.core.testing.MutableClock;
import io.msiagent.core.testing.TestCredentials;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MsiCredentialCacheTest {
    private final MutableClock clock = MutableClock.atNow();
    private final FakeScheduledExecutor executor = new FakeScheduledExecutor(clock);
    private final FakeIssuer imds = new FakeIssuer(clock);
    private final InMemoryCredentialStore store = new InMemoryCredentialStore();
    private final List<CredentialEvent> events = new CopyOnWriteArrayList<>();
    private final List<MsiCredentialCache> caches = new ArrayList<>();

    private MsiCredentialCache cache() {
        return cache(new PooledKeyProvider());
    }

    private MsiCredentialCache cache(io.msiagent.core.spi.KeyProvider keys) {
        MsiCredentialCache cache = MsiCredentialCache.builder()
                .issuer(imds)
                .store(store)
                .keyProvider(keys)
                .keyAttestor(null)
                .clock(clock)
                .executor(executor)
                .worker(Runnable::run)
                .build();
        cache.addListener(events::add);
        caches.add(cache);
        return cache;
    }

    @AfterEach
    void close() {
        caches.forEach(MsiCredentialCache::close);
    }

    /** Runs acquisitions on the calling thread, or, while {@code hold} is set, keeps them until {@link #release()}. */
    private static final class HeldWorker implements java.util.concurrent.Executor {
        final AtomicBoolean hold = new AtomicBoolean();
        final List<Runnable> held = new CopyOnWriteArrayList<>();

        @Override
        public void execute(Runnable r) {
            if (hold.get()) {
                held.add(r);
            } else {
                r.run();
            }
        }

        void release() {
            hold.set(false);
            held.forEach(Runnable::run);
        }
    }

    private List<CredentialEvent.Type> eventTypes() {
        return events.stream().map(CredentialEvent::type).toList();
    }

    @Test
    void aCallerInterruptedAfterItsFlightFinishedStillReceivesTheCredential() {
        MsiCredentialCache cache = cache();
        // The worker runs flights on the calling thread; a listener interrupts that thread while the
        // flight settles, before the caller collects the outcome (as Future.get, a finished outcome wins).
        cache.addListener(e -> Thread.currentThread().interrupt());
        try {
            MtlsCredential c = cache.get();
            assertEquals(1, c.generation());
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept for the caller");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void coldGetIssuesValidatesPersistsAndPublishesGenerationOne() {
        MsiCredentialCache cache = cache(new SoftwareKeyProvider());
        MtlsCredential c = cache.get();

        assertEquals(1, c.generation());
        assertEquals(1, imds.issueCalls.get());
        assertEquals(TestCredentials.CLIENT_ID, c.clientId());
        assertEquals("https://127.0.0.1:1/" + TestCredentials.TENANT_ID + "/oauth2/v2.0/token", c.tokenEndpoint());
        assertTrue(KeyMatch.matches(c.certificate().getPublicKey(), c.privateKey()));
        assertEquals(KeyProtection.SOFTWARE, c.keyProtection());
        assertFalse(c.attested());
        assertEquals(c.x5tS256(), store.load(ManagedIdentityId.systemAssigned()).credential().orElseThrow().x5tS256());
        assertSame(c, cache.get(), "the hot path serves the published snapshot itself");
        assertEquals(List.of(CredentialEvent.Type.ACQUIRED), eventTypes());
        Duration lifetime = Duration.between(c.notBefore(), c.notAfter());
        Duration untilRenew = Duration.between(c.notBefore(), c.renewAt());
        assertTrue(untilRenew.compareTo(lifetime.multipliedBy(45).dividedBy(100)) >= 0 && untilRenew.compareTo(lifetime.multipliedBy(55).dividedBy(100)) <= 0,
                "renewAt " + c.renewAt() + " within 45..55 % of the lifetime");
    }

    @Test
    void freshStoredCredentialIsServedWithoutCallingImds() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minusSeconds(60), Duration.ofHours(8));
        store.save(stored);
        MtlsCredential c = cache().get();
        assertEquals(stored.x5tS256(), c.x5tS256());
        assertEquals(0, imds.metadataCalls.get());
        assertEquals(0, imds.issueCalls.get());
    }

    /**
     * Another process holding the store's lock (renewing, which may take seconds, or hung) does not
     * delay a start that finds a usable credential on disk (the store peeks); the lock still guards
     * every issuance.
     */
    @Test
    void aStoredCredentialIsServedWithoutWaitingForTheStoreLock() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minusSeconds(60), Duration.ofHours(8));
        store.save(stored);
        try (StoreLock heldElsewhere = store.lock(ManagedIdentityId.systemAssigned(), Duration.ofSeconds(1))) {
            MtlsCredential c = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> cache().get(),
                    "the cache waited for the lock (30 s) although the stored credential was usable");
            assertEquals(stored.x5tS256(), c.x5tS256());
        }
        assertEquals(0, imds.issueCalls.get());
    }

    /** A peeked credential the flight may not use (due for renewal, in a renewal) is left to the locked path. */
    @Test
    void aRenewalDoesNotTakeThePeekedCredentialItIsReplacing() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minus(Duration.ofHours(5)), Duration.ofHours(8));
        store.save(stored);
        MsiCredentialCache cache = cache();
        assertEquals(stored.x5tS256(), cache.get().x5tS256(), "a cold start serves it though renewal is due");
        executor.runDue();
        assertEquals(1, imds.issueCalls.get(), "the renewal issued instead of taking the same entry again");
        assertNotEquals(stored.x5tS256(), cache.get().x5tS256());
    }

    @Test
    void storedEntryPastRenewAtIsServedAndRenewedInTheBackground() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minus(Duration.ofHours(5)), Duration.ofHours(8));
        store.save(stored);
        MsiCredentialCache cache = cache();
        MtlsCredential served = cache.get();
        assertEquals(stored.x5tS256(), served.x5tS256(), "a valid entry past renewAt is still served");
        assertEquals(0, imds.issueCalls.get(), "the caller did not wait for the renewal");

        executor.runDue();

        assertEquals(1, imds.issueCalls.get());
        MtlsCredential renewed = cache.get();
        assertEquals(2, renewed.generation());
        assertNotEquals(stored.x5tS256(), renewed.x5tS256());
        assertEquals(List.of(CredentialEvent.Type.ACQUIRED, CredentialEvent.Type.RENEWED), eventTypes());
    }

    @Test
    void expiredStoredEntryIsNotServed() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minus(Duration.ofHours(9)), Duration.ofHours(8));
        store.save(stored);
        MtlsCredential c = cache().get();
        assertNotEquals(stored.x5tS256(), c.x5tS256());
        assertEquals(1, imds.issueCalls.get());
    }

    @Test
    void aStoredRenewAtOutsideTheValidityIsPlannedAgainSoTheRenewalIsNotLost() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant(), Duration.ofHours(8));
        store.save(stored.toBuilder().renewAt(stored.notAfter().plus(Duration.ofDays(1))).build());
        MsiCredentialCache cache = cache();
        MtlsCredential served = cache.get();
        assertEquals(stored.x5tS256(), served.x5tS256());
        assertTrue(served.renewAt().isAfter(served.notBefore()) && served.renewAt().isBefore(served.notAfter()), served.renewAt().toString());
        assertEquals(0, imds.issueCalls.get());

        executor.advance(Duration.ofHours(7));
        assertEquals(1, imds.issueCalls.get(), "renewed before expiry");
        assertNotEquals(stored.x5tS256(), cache.get().x5tS256());
    }

    @Test
    void backgroundRenewalAtRenewAtKeepsServingTheOldCredentialUntilTheNewOneIsPublished() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        Duration toRenew = Duration.between(clock.instant(), first.renewAt());

        executor.advance(toRenew.minusSeconds(1));
        assertSame(first, cache.get());
        assertEquals(1, imds.issueCalls.get());

        executor.advance(Duration.ofSeconds(1));
        MtlsCredential second = cache.get();
        assertEquals(2, second.generation());
        assertEquals(2, imds.issueCalls.get());
        assertTrue(second.notAfter().isAfter(first.notAfter()));
    }

    @Test
    void renewsEveryHalfLifeForAWeekOfFakeTime() {
        imds.lifetime = Duration.ofHours(4);
        MsiCredentialCache cache = cache();
        cache.get();
        executor.advance(Duration.ofDays(7));
        MtlsCredential last = cache.get();
        // 168 h of 4 h certificates renewed at 45..55 % of their life: between 76 and 94 generations.
        assertTrue(last.generation() >= 76 && last.generation() <= 95, "generation " + last.generation());
        assertEquals(last.generation(), imds.issueCalls.get());
        assertEquals(CredentialState.FRESH, last.stateAt(clock.instant()));
        assertFalse(eventTypes().contains(CredentialEvent.Type.EXPIRED));
    }

    @Test
    void failedRenewalBacksOffKeepsTheOldCredentialAndRecovers() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        imds.failNext(3);

        executor.advance(Duration.between(clock.instant(), first.renewAt()));
        assertSame(first, cache.get(), "the old credential stays in service");
        CredentialEvent failed = events.get(events.size() - 1);
        assertEquals(CredentialEvent.Type.RENEWAL_FAILED, failed.type());
        assertTrue(failed.cause() instanceof IssuanceException);
        assertTrue(failed.cause().getMessage().contains("HTTP 500") && failed.cause().getMessage().contains("client-req-1")
                && failed.cause().getMessage().contains("server-req-1"), failed.cause().getMessage());
        Duration firstWait = Duration.between(failed.time(), failed.nextAttempt());
        assertTrue(firstWait.compareTo(Duration.ofSeconds(1)) >= 0 && firstWait.compareTo(Duration.ofMinutes(5)) <= 0, firstWait.toString());
        CredentialStatus status = cache.status();
        assertEquals(CredentialState.RENEW_DUE, status.state());
        assertEquals(failed.nextAttempt(), status.nextRenewalAttempt());
        assertTrue(status.reasons().stream().anyMatch(r -> r.contains("last renewal attempt failed")), status.reasons().toString());

        executor.advance(Duration.ofMinutes(30));

        MtlsCredential renewed = cache.get();
        assertEquals(2, renewed.generation());
        assertEquals(1 + 3 + 1, imds.issueCalls.get(), "first issuance, three failures, then success");
        List<CredentialEvent> failures = events.stream().filter(e -> e.type() == CredentialEvent.Type.RENEWAL_FAILED).toList();
        assertEquals(3, failures.size());
        for (int i = 1; i < failures.size(); i++) {
            assertEquals(failures.get(i - 1).nextAttempt(), failures.get(i).time(), "each retry ran at its announced time");
        }
        CredentialStatus recovered = cache.status();
        assertEquals(CredentialState.FRESH, recovered.state());
        assertEquals(renewed.renewAt(), recovered.nextRenewalAttempt(), "failure bookkeeping is cleared by the success");
    }

    @Test
    void expiryWithImdsDownWithdrawsTheCredentialAndGetThrowsATypedError() {
        imds.lifetime = Duration.ofHours(1);
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        imds.down = true;

        executor.advance(Duration.between(clock.instant(), first.notAfter()).minusSeconds(1));
        assertSame(first, cache.get(), "served until its last second");
        executor.advance(Duration.ofSeconds(1));

        assertTrue(eventTypes().contains(CredentialEvent.Type.EXPIRED));
        IssuanceException e = assertThrows(IssuanceException.class, cache::get);
        assertEquals(-1, e.imdsException().status());
        assertTrue(e.getMessage().contains("getplatformmetadata") && e.getMessage().contains("no reply")
                && e.getMessage().contains("client-req-down") && e.getMessage().contains("connection refused")
                && !e.getMessage().contains(".."), e.getMessage());
        assertEquals(CredentialState.EXPIRED, cache.status().state(), "status reads the expired entry from the store");

        imds.down = false;
        executor.advance(Duration.ofMinutes(6));
        assertEquals(2, cache.get().generation(), "background retries recover after expiry");
    }

    @Test
    void certificateForADifferentKeyIsRejectedAndNotStored() {
        imds.wrongKey = true;
        MsiCredentialCache cache = cache();
        CertificateValidationException e = assertThrows(CertificateValidationException.class, cache::get);
        assertTrue(e.getMessage().contains("different public key"), e.getMessage());
        assertEquals(LoadResult.Kind.ABSENT, store.load(ManagedIdentityId.systemAssigned()).kind());
        assertEquals(CredentialState.MISSING, cache.status().state());
        assertTrue(events.isEmpty());
    }

    @Test
    void expiredCertificateIsRejected() {
        imds.lifetime = Duration.ofHours(1);
        imds.notBeforeOffset = Duration.ofHours(-2);
        CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
        assertTrue(e.getMessage().contains("already expired"), e.getMessage());
        assertEquals(LoadResult.Kind.ABSENT, store.load(ManagedIdentityId.systemAssigned()).kind());
    }

    @Test
    void futureDatedCertificateBeyondSkewIsRejectedButWithinSkewAccepted() {
        imds.notBeforeOffset = Duration.ofMinutes(6);
        CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
        assertTrue(e.getMessage().contains("not valid before"), e.getMessage());
        assertEquals(LoadResult.Kind.ABSENT, store.load(ManagedIdentityId.systemAssigned()).kind());

        imds.notBeforeOffset = Duration.ofMinutes(4);
        assertNotNull(cache().get(), "4 minutes of skew are tolerated");
    }

    @Test
    void almostExpiredCertificateIsRejected() {
        imds.lifetime = Duration.ofHours(1);
        imds.notBeforeOffset = Duration.ofSeconds(5).minusHours(1);
        CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
        assertTrue(e.getMessage().contains("validity left") && e.getMessage().contains("clock is ahead"), e.getMessage());
    }

    @Test
    void aTenSecondCertificateIsAcceptedEvenMidSecond() {
        // notAfter is truncated to the second: issued at .500, a 10 s certificate has 9.5 s left.
        clock.set(Instant.parse("2026-11-22T12:00:00.500Z"));
        imds.lifetime = Duration.ofSeconds(10);
        MtlsCredential c = cache().get();
        assertEquals(Duration.ofSeconds(10), Duration.between(c.notBefore(), c.notAfter()));
        assertTrue(c.renewAt().isAfter(clock.instant()) && c.renewAt().isBefore(c.notAfter()), c.renewAt().toString());
    }

    @Test
    void aCertificateTooShortLivedToUseIsRefusedBlamingItsLifetime() {
        imds.lifetime = Duration.ofSeconds(2);
        clock.set(Instant.parse("2026-11-22T12:00:00.500Z"));
        CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
        assertTrue(e.getMessage().contains("lifetime of 2000 ms is too short"), e.getMessage());
    }

    @Test
    void aCertificateWithAnEmptyOrInvertedValidityWindowIsRefusedAsInvalid() {
        for (Duration lifetime : List.of(Duration.ZERO, Duration.ofHours(-1))) {
            imds.lifetime = lifetime;
            imds.notBeforeOffset = Duration.ofMinutes(1);
            CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
            assertTrue(e.getMessage().contains("empty validity window"), e.getMessage());
            assertEquals(LoadResult.Kind.ABSENT, store.load(ManagedIdentityId.systemAssigned()).kind());
        }
    }

    @Test
    void aFutureDatedCertificateIsJudgedByTheLifeItWillHaveNotByItsDistanceFromNow() {
        imds.lifetime = Duration.ofSeconds(1);
        imds.notBeforeOffset = Duration.ofMinutes(1); // within the clock skew, but valid for 1 s only
        CertificateValidationException e = assertThrows(CertificateValidationException.class, () -> cache().get());
        assertTrue(e.getMessage().contains("lifetime of 1000 ms is too short"), e.getMessage());
    }

    @Test
    void keyProtectionBelowTheMinimumFailsClosed() {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new SoftwareKeyProvider())
                .keyAttestor(null).minimumProtection(KeyProtection.KEYGUARD).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        KeyProtectionException e = assertThrows(KeyProtectionException.class, cache::get);
        assertEquals(KeyProtection.KEYGUARD, e.required());
        assertEquals(0, imds.issueCalls.get());
    }

    @Test
    void aStoredCredentialBelowTheMinimumProtectionIsNotServed() {
        MtlsCredential software = cache(new SoftwareKeyProvider()).get();
        assertEquals(KeyProtection.SOFTWARE, software.keyProtection());
        MsiCredentialCache strict = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new SoftwareKeyProvider())
                .keyAttestor(null).minimumProtection(KeyProtection.TPM).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(strict);
        assertThrows(KeyProtectionException.class, strict::get, "the software-key entry in the store does not satisfy TPM");
        assertEquals(1, imds.issueCalls.get());
    }

    @Test
    void refreshIssuesANewGenerationEvenWhenFresh() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        MtlsCredential second = cache.refresh();
        assertEquals(2, second.generation());
        assertNotEquals(first.x5tS256(), second.x5tS256());
        assertSame(second, cache.get());
        assertEquals(second.x5tS256(), store.load(ManagedIdentityId.systemAssigned()).credential().orElseThrow().x5tS256());
    }

    @Test
    void failedRefreshKeepsTheCurrentCredential() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        imds.failNext(1);
        assertThrows(IssuanceException.class, cache::refresh);
        assertSame(first, cache.get());
        assertEquals(first.x5tS256(), store.load(ManagedIdentityId.systemAssigned()).credential().orElseThrow().x5tS256());
    }

    @Test
    void aRenewalDueDuringAFailingForegroundRefreshIsRetried() throws Exception {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        imds.gate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Throwable> refreshOutcome = new java.util.concurrent.CompletableFuture<>();
        Thread refresher = new Thread(() -> {
            try {
                cache.refresh();
                refreshOutcome.complete(null);
            } catch (Throwable e) {
                refreshOutcome.complete(e);
            }
        });
        refresher.start();
        awaitIssueCalls(2);
        // renewAt passes while the foreground refresh is in IMDS: the renew timer finds a flight running.
        executor.advance(Duration.between(clock.instant(), first.renewAt()).plusSeconds(1));
        imds.failNext(1);
        imds.gate.countDown();
        assertTrue(refreshOutcome.get(20, java.util.concurrent.TimeUnit.SECONDS) instanceof IssuanceException);
        imds.gate = null;
        assertTrue(cache.status().nextRenewalAttempt() != null, "a retry is scheduled after the failed foreground flight");

        executor.advance(Duration.ofMinutes(30));

        assertEquals(2, cache.get().generation(), "the renewal that was due is retried and succeeds");
        assertEquals(3, imds.issueCalls.get());
    }

    @Test
    void aRenewalStuckInTheWorkerDoesNotDelayTheExpiryTimer() {
        imds.lifetime = Duration.ofHours(1);
        HeldWorker worker = new HeldWorker();
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(worker).prepareKeys(false).build();
        caches.add(cache);
        cache.addListener(events::add);
        MtlsCredential first = cache.get();
        worker.hold.set(true);

        executor.advance(Duration.between(clock.instant(), first.notAfter()).plusSeconds(1));

        assertEquals(1, worker.held.size(), "the renew timer handed the renewal to the worker instead of running it");
        assertEquals(1, imds.issueCalls.get());
        assertTrue(eventTypes().contains(CredentialEvent.Type.EXPIRED), "the expiry timer ran while the renewal was stuck");
        assertEquals(CredentialState.EXPIRED, cache.status().state());
        worker.release();
        assertEquals(2, cache.get().generation());
    }

    @Test
    void anInterruptedWaiterFailsAloneWhileTheFlightGoesOn() throws Exception {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).prepareKeys(false).build();
        caches.add(cache);
        imds.gate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Object> leader = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Object> follower = new java.util.concurrent.CompletableFuture<>();
        Thread a = new Thread(() -> outcome(cache, leader));
        a.start();
        awaitIssueCalls(1);
        Thread b = new Thread(() -> outcome(cache, follower));
        b.start();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (b.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        a.interrupt();
        Object interrupted = leader.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(interrupted instanceof CredentialUnavailableException
                && ((Exception) interrupted).getMessage().contains("interrupted"), String.valueOf(interrupted));
        assertFalse(follower.isDone(), "the follower still waits for the flight");
        imds.gate.countDown();
        Object served = follower.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(served instanceof MtlsCredential, String.valueOf(served));
        assertEquals(1, imds.issueCalls.get());
        a.join(20_000);
        b.join(20_000);
    }

    @Test
    void anExecutorShutDownDuringAnAcquisitionFailsEveryWaiterInsteadOfHangingThem() throws Exception {
        MsiCredentialCache cache = cache();
        imds.gate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Object> leader = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Object> follower = new java.util.concurrent.CompletableFuture<>();
        Thread a = new Thread(() -> outcome(cache, leader));
        a.start();
        awaitIssueCalls(1);
        Thread b = new Thread(() -> outcome(cache, follower));
        b.setDaemon(true);
        b.start();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (b.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        executor.shutdown();
        imds.gate.countDown();
        for (java.util.concurrent.CompletableFuture<Object> waiter : List.of(leader, follower)) {
            Object o = waiter.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(o instanceof CredentialUnavailableException && ((Exception) o).getMessage().contains("refused a timer"),
                    String.valueOf(o));
        }
        assertThrows(CredentialUnavailableException.class, cache::get, "the cache is closed");
        a.join(20_000);
        b.join(20_000);
    }

    @Test
    void closeAfterARefusedTimerStillDiscardsTheSpareKey() {
        List<String> discarded = new CopyOnWriteArrayList<>();
        PooledKeyProvider pool = new PooledKeyProvider();
        io.msiagent.core.spi.KeyProvider recording = new io.msiagent.core.spi.KeyProvider() {
            @Override
            public String name() {
                return pool.name();
            }

            @Override
            public boolean isSupported() {
                return true;
            }

            @Override
            public KeyProtection bestAvailableProtection() {
                return pool.bestAvailableProtection();
            }

            @Override
            public io.msiagent.core.spi.ManagedKey create(KeyProtection minimum) {
                io.msiagent.core.spi.ManagedKey k = pool.create(minimum);
                // A platform key (a CNG or TPM key) exists outside the process until it is discarded.
                return new io.msiagent.core.spi.ManagedKey() {
                    public java.security.PublicKey publicKey() {
                        return k.publicKey();
                    }

                    public java.security.PrivateKey privateKey() {
                        return k.privateKey();
                    }

                    public KeyProtection protection() {
                        return k.protection();
                    }

                    public java.security.Provider signatureProvider() {
                        return k.signatureProvider();
                    }

                    public String keyId() {
                        return k.keyId();
                    }

                    public void discard() {
                        discarded.add(k.keyId());
                    }
                };
            }
        };
        MsiCredentialCache cache = cache(recording);
        cache.get();
        assertEquals(2, pool.created().size(), "the spare key for the next renewal was made after the issuance");
        executor.shutdown(); // by its owner
        cache.replan(); // re-arming the timers is refused: the cache closes itself
        assertThrows(CredentialUnavailableException.class, cache::get);

        cache.close();

        assertEquals(List.of(pool.created().get(1).keyId()), discarded, "the unused spare key is removed from its provider");
    }

    private static void outcome(MsiCredentialCache cache, java.util.concurrent.CompletableFuture<Object> into) {
        try {
            into.complete(cache.get());
        } catch (RuntimeException e) {
            into.complete(e);
        }
    }

    private void awaitIssueCalls(int n) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (imds.issueCalls.get() < n) {
            assertTrue(System.nanoTime() < deadline, "issue call " + n + " never came");
            Thread.sleep(5);
        }
    }

    @Test
    void anExpiryFoundByReplanWhileARenewalRunsDoesNotLengthenTheBackOff() {
        imds.lifetime = Duration.ofHours(1);
        HeldWorker worker = new HeldWorker();
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(worker).prepareKeys(false)
                .renewalPolicy(RenewalPolicy.builder().initialBackoff(Duration.ofSeconds(10)).maxBackoff(Duration.ofHours(1)).build())
                .build();
        caches.add(cache);
        MtlsCredential first = cache.get();
        worker.hold.set(true);
        executor.advance(Duration.between(clock.instant(), first.renewAt()).plusSeconds(1));
        assertEquals(1, worker.held.size(), "the renewal is running (held in the worker)");
        clock.advance(Duration.ofHours(1)); // the VM slept past notAfter
        cache.replan(); // finds the credential expired while the renewal still runs
        imds.down = true;
        worker.release(); // the renewal fails: the first failure

        Duration wait = Duration.between(clock.instant(), cache.status().nextRenewalAttempt());
        // Attempt 1 waits 5..10 s with this policy; attempt 2 would wait 10..20 s.
        assertTrue(wait.compareTo(Duration.ofSeconds(10)) <= 0, "the first failure's back-off, not the second's: " + wait);
    }

    @Test
    void whenGetReturnsANewCredentialItsListenersHaveHeardOfIt() {
        // The default worker: the flight settles on its own thread while the caller waits.
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).build();
        caches.add(cache);
        List<CredentialEvent> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> {
            try {
                Thread.sleep(200); // a slow listener: the caller must still not be released before it
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            heard.add(e);
        });
        MtlsCredential c = cache.get();
        assertEquals(1, heard.size(), "the ACQUIRED event was delivered before get() returned");
        assertEquals(CredentialEvent.Type.ACQUIRED, heard.get(0).type());
        assertSame(c, heard.get(0).credential());
    }

    @Test
    void anExpiryIsReportedBeforeTheRenewalThatFollowsItAndNeverAlongsideIt() throws Exception {
        imds.lifetime = Duration.ofHours(1);
        // The default worker: the renewal settles on its own thread while the timer reports the expiry.
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).prepareKeys(false).build();
        caches.add(cache);
        MtlsCredential first = cache.get();
        CountDownLatch imdsGate = new CountDownLatch(1);
        imds.gate = imdsGate; // the renewal hangs at IMDS until the credential has expired
        List<CredentialEvent.Type> finished = new CopyOnWriteArrayList<>();
        AtomicInteger inside = new AtomicInteger();
        AtomicBoolean overlapped = new AtomicBoolean();
        CountDownLatch renewedHeard = new CountDownLatch(1);
        cache.addListener(e -> {
            if (inside.incrementAndGet() > 1) {
                overlapped.set(true);
            }
            try {
                if (e.type() == CredentialEvent.Type.EXPIRED) {
                    imdsGate.countDown(); // the renewal completes while the expiry is being reported
                    renewedHeard.await(1, TimeUnit.SECONDS);
                }
                finished.add(e.type());
                if (e.type() == CredentialEvent.Type.RENEWED) {
                    renewedHeard.countDown();
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            } finally {
                inside.decrementAndGet();
            }
        });

        executor.advance(Duration.between(clock.instant(), first.notAfter()).plusSeconds(1));

        assertTrue(renewedHeard.await(20, TimeUnit.SECONDS), "the renewal was reported");
        // A status display that shows the last event it heard must show the renewal, not the expiry.
        assertEquals(List.of(CredentialEvent.Type.EXPIRED, CredentialEvent.Type.RENEWED), finished);
        assertFalse(overlapped.get(), "the listener was called by two threads at once");
        assertEquals(2, cache.get().generation());
    }

    @Test
    void aListenerToldOfAnExpiryMayWaitForTheSuccessorThatTheWorkerAcquires() {
        imds.lifetime = Duration.ofHours(1);
        // A grace far beyond the timeout below: the listener's wait must release the worker's callers itself.
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).prepareKeys(false).listenerGrace(Duration.ofMinutes(5)).build();
        caches.add(cache);
        cache.get();
        List<MtlsCredential> gotInListener = new CopyOnWriteArrayList<>();
        List<CredentialEvent.Type> heard = new CopyOnWriteArrayList<>();
        cache.addListener(e -> {
            heard.add(e.type());
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                // Waits for an acquisition on the worker, whose event this thread must deliver next.
                gotInListener.add(cache.get());
            }
        });
        clock.advance(Duration.ofHours(2)); // the VM slept past notAfter
        assertTimeoutPreemptively(Duration.ofSeconds(20), cache::replan);

        // Possibly delivered by the worker that had just released the first get(): wait for the events.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (heard.size() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(2, gotInListener.get(0).generation());
        assertEquals(List.of(CredentialEvent.Type.EXPIRED, CredentialEvent.Type.RENEWED), heard);
    }

    @Test
    void aListenerThrowingAVirtualMachineErrorOnAnExpiryDoesNotStopTheReacquisition() {
        imds.lifetime = Duration.ofHours(1);
        MsiCredentialCache cache = cache();
        cache.get();
        imds.down = true;
        cache.addListener(e -> {
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                throw new StackOverflowError("a listener's runaway recursion");
            }
        });
        clock.advance(Duration.ofHours(2)); // the VM slept past notAfter
        assertThrows(StackOverflowError.class, cache::replan, "not swallowed: the thread that delivered it gets it");
        imds.down = false;

        executor.advance(Duration.ofMinutes(10));

        assertEquals(2, imds.issueCalls.get(), "the retry armed at the expiry re-acquired the credential, unasked");
        assertEquals(2, cache.get().generation());
    }

    @Test
    void aThrowingListenerDoesNotBreakTheEngine() {
        MsiCredentialCache cache = cache();
        cache.addListener(e -> {
            throw new IllegalStateException("listener bug");
        });
        List<CredentialEvent> after = new CopyOnWriteArrayList<>();
        cache.addListener(after::add);
        assertEquals(1, cache.get().generation());
        assertEquals(1, after.size(), "listeners after the throwing one still hear the event");
        assertEquals(2, cache.refresh().generation());
    }

    @Test
    void replanAfterASuspendWithdrawsAnExpiredCredentialAtOnce() {
        imds.lifetime = Duration.ofHours(1);
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        // The VM slept: the wall clock jumped, the monotonic timers did not fire.
        clock.advance(Duration.ofHours(2));
        assertSame(first, cache.get(), "without replan the stale snapshot is still served");
        cache.replan();
        assertTrue(eventTypes().contains(CredentialEvent.Type.EXPIRED));
        MtlsCredential next = cache.get();
        assertEquals(2, next.generation());
        assertEquals(CredentialState.FRESH, next.stateAt(clock.instant()));
    }

    @Test
    void aSuccessorPublishedWhileTheExpiryIsReportedIsNotReplacedByARetry() {
        imds.lifetime = Duration.ofHours(1);
        MsiCredentialCache cache = cache();
        cache.get();
        // The EXPIRED event reaches a listener that asks for a credential at once: the successor is
        // published between the expiry decision and the retry it would have armed.
        cache.addListener(e -> {
            if (e.type() == CredentialEvent.Type.EXPIRED) {
                cache.get();
            }
        });
        clock.advance(Duration.ofHours(2)); // the VM slept past notAfter
        cache.replan();
        assertEquals(2, imds.issueCalls.get());
        MtlsCredential successor = cache.get();
        executor.advance(Duration.ofMinutes(10)); // long past any retry delay, well before renewAt
        assertEquals(2, imds.issueCalls.get(), "no retry replaced the fresh successor");
        assertSame(successor, cache.get());
        assertEquals(successor.renewAt(), cache.status().nextRenewalAttempt(), "its renewal timer is armed, not cancelled");
    }

    @Test
    void aLockTimeoutStaysTheErrorWhenTheStoreCannotBeReadEitherAndCarriesThatFailure() {
        InMemoryCredentialStore memory = new InMemoryCredentialStore();
        io.msiagent.core.spi.CredentialStore busyAndBroken = new io.msiagent.core.spi.CredentialStore() {
            @Override
            public String location(ManagedIdentityId identity) {
                return "busy-store";
            }

            @Override
            public io.msiagent.core.spi.LoadResult load(ManagedIdentityId identity) {
                throw new StoreException("busy-store/entry", "permission denied");
            }

            @Override
            public io.msiagent.core.spi.LoadResult inspect(ManagedIdentityId identity) {
                return memory.inspect(identity);
            }

            @Override
            public void save(MtlsCredential credential) {
                memory.save(credential);
            }

            @Override
            public List<String> delete(ManagedIdentityId identity) {
                return memory.delete(identity);
            }

            @Override
            public io.msiagent.core.spi.StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
                throw new StoreException("busy-store/lock", "timed out waiting for the lock, held by process 4242");
            }
        };
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(busyAndBroken).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        StoreException e = assertThrows(StoreException.class, cache::get);
        assertTrue(e.getMessage().contains("held by process 4242"), e.getMessage());
        assertEquals(1, e.getSuppressed().length, "the failed read is not lost");
        assertTrue(e.getSuppressed()[0].getMessage().contains("permission denied"), e.getSuppressed()[0].getMessage());
        assertEquals(0, imds.issueCalls.get());
    }

    @Test
    void replanStartsADueRenewal() {
        imds.lifetime = Duration.ofHours(1);
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        clock.advance(Duration.ofMinutes(40));
        cache.replan();
        executor.runDue();
        assertEquals(2, cache.get().generation());
        assertTrue(cache.get().notAfter().isAfter(first.notAfter()));
    }

    @Test
    void replanDuringABackedOffRetryDoesNotStartAnExtraAttempt() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        imds.failNext(1);
        executor.advance(Duration.between(clock.instant(), first.renewAt()));
        assertEquals(2, imds.issueCalls.get());
        Instant retryAt = cache.status().nextRenewalAttempt();
        assertTrue(retryAt.isAfter(clock.instant()), retryAt.toString());

        cache.replan();
        executor.runDue();

        assertEquals(2, imds.issueCalls.get(), "the pending retry stays the next attempt");
        executor.advance(Duration.between(clock.instant(), retryAt));
        assertEquals(3, imds.issueCalls.get());
        assertEquals(2, cache.get().generation());
    }

    @Test
    void aThirtyDayCertificateIsWatchedInHourlyHopsAndRenewedAtRenewAt() {
        imds.lifetime = Duration.ofDays(30);
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        executor.runDue();
        assertTrue(executor.nextDueMillis() - clock.millis() <= Duration.ofHours(1).toMillis(),
                "no timer waits longer than an hour on the monotonic clock");

        executor.advance(Duration.between(clock.instant(), first.renewAt()).minusMinutes(1));
        assertSame(first, cache.get(), "early wake-ups only re-arm");
        assertEquals(1, imds.issueCalls.get());
        assertTrue(executor.pending() > 0);

        executor.advance(Duration.ofMinutes(2));
        assertEquals(2, cache.get().generation());
    }

    @Test
    void statusWithoutAnythingIsMissingAndDoesNotCallImds() {
        CredentialStatus status = cache().status();
        assertEquals(CredentialState.MISSING, status.state());
        assertEquals(0, imds.metadataCalls.get());
        assertTrue(status.reasons().get(0).contains("memory:system"), status.reasons().toString());
    }

    @Test
    void closedCacheRefusesWithATypedError() {
        MsiCredentialCache cache = cache();
        cache.close();
        assertThrows(CredentialUnavailableException.class, cache::get);
    }

    @Test
    void closeReleasesACallerWaitingForAColdAcquisitionAtOnce() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        imds.gate = gate; // IMDS holds the issuance (a slow IMDS, up to its call deadline)
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).build();
        caches.add(cache);
        java.util.concurrent.ExecutorService caller = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<MtlsCredential> waiting = caller.submit(cache::get);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                while (imds.issueCalls.get() == 0) {
                    Thread.sleep(10);
                }
            });
            cache.close();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> waiting.get(5, TimeUnit.SECONDS), "released by close(), not by IMDS");
            assertTrue(e.getCause() instanceof CredentialUnavailableException, String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        } finally {
            gate.countDown();
            caller.shutdownNow();
        }
        assertThrows(CredentialUnavailableException.class, cache::get);
    }

    @Test
    void renewalAdoptsAFresherEntryAnotherProcessStored() {
        MsiCredentialCache cache = cache();
        MtlsCredential first = cache.get();
        // Another process renewed first and stored a fresh credential.
        Instant later = first.renewAt().minusSeconds(5);
        MtlsCredential other = imds.ca.credential(ManagedIdentityId.systemAssigned(), Instant.ofEpochSecond(later.getEpochSecond()), Duration.ofHours(24));
        store.save(other);
        int issuedBefore = imds.issueCalls.get();
        executor.advance(Duration.between(clock.instant(), first.renewAt()));
        assertEquals(other.x5tS256(), cache.get().x5tS256());
        assertEquals(issuedBefore, imds.issueCalls.get(), "no second issuance on this machine");
    }

    @Test
    void theNextKeyIsPreparedInTheBackgroundSoRenewalDoesNotWaitForKeyGeneration() {
        PooledKeyProvider counting = new PooledKeyProvider();
        List<io.msiagent.core.spi.ManagedKey> created = counting.created();
        MsiCredentialCache cache = cache(counting);
        MtlsCredential first = cache.get();
        assertEquals(2, created.size(), "the spare key was made after the publish");
        assertSame(created.get(0).privateKey(), first.privateKey());
        MtlsCredential second = cache.refresh();
        assertSame(created.get(1).privateKey(), second.privateKey(), "the renewal used the spare key instead of making one");
        assertTrue(KeyMatch.matches(second.certificate().getPublicKey(), second.privateKey()));
        assertEquals(3, created.size(), "and the next spare was made after it");
    }

    @Test
    void aCredentialLoadedFromTheStoreMakesItsSpareKeyLaterNotWhileTheProcessStarts() {
        MtlsCredential stored = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minusSeconds(60), Duration.ofHours(8));
        store.save(stored);
        PooledKeyProvider pool = new PooledKeyProvider();
        List<io.msiagent.core.spi.ManagedKey> created = pool.created();
        MsiCredentialCache cache = cache(pool);
        assertEquals(stored.x5tS256(), cache.get().x5tS256());
        executor.runDue();
        assertEquals(0, created.size(), "no key generation at start-up");
        executor.advance(MsiCredentialCache.SPARE_KEY_DELAY_AFTER_LOAD);
        assertEquals(1, created.size(), "the spare key is made " + MsiCredentialCache.SPARE_KEY_DELAY_AFTER_LOAD + " later");
        MtlsCredential renewed = cache.refresh();
        assertSame(created.get(0).privateKey(), renewed.privateKey(), "and the renewal uses it");
    }

    @Test
    void anUntypedFailureInsideTheAcquisitionReachesGetAsATypedErrorNamingTheStep() {
        java.io.UncheckedIOException broken = new java.io.UncheckedIOException(new java.io.IOException("I/O error"));
        io.msiagent.core.spi.CredentialStore failing = new io.msiagent.core.spi.CredentialStore() {
            @Override
            public String location(ManagedIdentityId identity) {
                return "/broken/msal_mtls.pem";
            }

            @Override
            public LoadResult load(ManagedIdentityId identity) {
                throw broken;
            }

            @Override
            public LoadResult inspect(ManagedIdentityId identity) {
                return LoadResult.absent();
            }

            @Override
            public void save(MtlsCredential credential) {
            }

            @Override
            public List<String> delete(ManagedIdentityId identity) {
                return List.of();
            }

            @Override
            public io.msiagent.core.spi.StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
                return () -> { };
            }
        };
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(failing).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        CredentialUnavailableException e = assertThrows(CredentialUnavailableException.class, cache::get);
        assertTrue(e.getMessage().contains("reading the store at /broken/msal_mtls.pem"), e.getMessage());
        assertSame(broken, e.getCause());
        assertEquals(0, imds.issueCalls.get());
    }

    @Test
    void aStoreThatCannotSaveStillGetsTheIssuedCredentialServedAndStatusSaysSo() {
        io.msiagent.core.spi.CredentialStore failing = new io.msiagent.core.spi.CredentialStore() {
            @Override
            public String location(ManagedIdentityId identity) {
                return "/nowhere/msal_mtls.pem";
            }

            @Override
            public LoadResult load(ManagedIdentityId identity) {
                return LoadResult.absent();
            }

            @Override
            public LoadResult inspect(ManagedIdentityId identity) {
                return LoadResult.absent();
            }

            @Override
            public void save(MtlsCredential credential) {
                throw new StoreException("/nowhere/msal_mtls.pem", "disk full");
            }

            @Override
            public List<String> delete(ManagedIdentityId identity) {
                return List.of();
            }

            @Override
            public io.msiagent.core.spi.StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
                return () -> { };
            }
        };
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(failing).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        assertEquals(1, cache.get().generation());
        CredentialStatus status = cache.status();
        assertEquals(CredentialState.FRESH, status.state());
        assertTrue(status.reasons().stream().anyMatch(r -> r.contains("not persisted") && r.contains("disk full")), status.reasons().toString());
    }

    @Test
    void whenTheStoreLockIsBusyAnEntryStoredByTheLockHolderIsAdopted() {
        MtlsCredential byOtherProcess = imds.ca.credential(ManagedIdentityId.systemAssigned(), clock.instant().minusSeconds(10), Duration.ofHours(8));
        InMemoryCredentialStore busy = new InMemoryCredentialStore();
        io.msiagent.core.spi.StoreLock held = busy.lock(ManagedIdentityId.systemAssigned(), Duration.ofSeconds(1));
        try {
            busy.save(byOtherProcess);
            MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(busy).keyProvider(new PooledKeyProvider())
                    .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).lockWait(Duration.ofMillis(50)).build();
            caches.add(cache);
            assertEquals(byOtherProcess.x5tS256(), cache.get().x5tS256());
            assertEquals(0, imds.issueCalls.get());
        } finally {
            held.close();
        }
    }

    @Test
    void whenTheStoreLockIsBusyAndNothingIsStoredTheStoreErrorSurfaces() {
        InMemoryCredentialStore busy = new InMemoryCredentialStore();
        io.msiagent.core.spi.StoreLock held = busy.lock(ManagedIdentityId.systemAssigned(), Duration.ofSeconds(1));
        try {
            MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(busy).keyProvider(new PooledKeyProvider())
                    .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).lockWait(Duration.ofMillis(50)).build();
            caches.add(cache);
            StoreException e = assertThrows(StoreException.class, cache::get);
            assertTrue(e.getMessage().contains("memory:system") && e.getMessage().contains("lock"), e.getMessage());
            assertEquals(0, imds.issueCalls.get());
        } finally {
            held.close();
        }
    }

    @Test
    void defaultsComeFromServiceLoaderWithTheSoftwareKeyProviderAsFallback() {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).persistence(false).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        MtlsCredential c = cache.get();
        assertEquals(KeyProtection.SOFTWARE, c.keyProtection());
        assertTrue(cache.storeLocation().startsWith("memory:"), cache.storeLocation());
    }

    private static io.msiagent.core.spi.KeyAttestor attestor(java.util.function.Supplier<java.util.Optional<String>> answer) {
        return new io.msiagent.core.spi.KeyAttestor() {
            @Override
            public String name() {
                return "fake-maa";
            }

            @Override
            public boolean isSupported() {
                return true;
            }

            @Override
            public java.util.Optional<String> attest(io.msiagent.core.spi.ManagedKey key, String attestationEndpoint, String clientId) {
                return answer.get();
            }

            @Override
            public String unavailableReason() {
                return null;
            }
        };
    }

    @Test
    void anAttestedKeySendsTheTokenAndMarksTheCredentialAttested() {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(attestor(() -> java.util.Optional.of("header.payload.sig"))).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        assertTrue(cache.get().attested());
        assertEquals("header.payload.sig", imds.lastAttestationToken);
    }

    @Test
    void aFailingAttestationIsATypedErrorAndNeverADowngrade() {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(attestor(() -> {
                    throw new IllegalStateException("MAA answered 503");
                })).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        AttestationException e = assertThrows(AttestationException.class, cache::get);
        assertTrue(e.getMessage().contains("fake-maa") && e.getMessage().contains("MAA answered 503")
                && e.getMessage().contains("not downgraded"), e.getMessage());
        assertEquals(0, imds.issueCalls.get(), "nothing was requested without the attestation");
    }

    @Test
    void noAttestationAvailableMeansAnUnattestedRequestWithoutAToken() {
        MsiCredentialCache cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider())
                .keyAttestor(attestor(java.util.Optional::empty)).clock(clock).executor(executor).worker(Runnable::run).build();
        caches.add(cache);
        assertFalse(cache.get().attested());
        assertEquals(null, imds.lastAttestationToken);
    }
}
