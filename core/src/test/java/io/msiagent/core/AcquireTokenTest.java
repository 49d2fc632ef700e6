package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.FakeScheduledExecutor;
import io.msiagent.core.testing.MutableClock;
import io.msiagent.imds.AccessToken;
import io.msiagent.imds.TokenEndpointException;
import io.msiagent.imds.TokenType;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AcquireTokenTest {
    private static final String ARM = "https://management.azure.com";

    private final MutableClock clock = MutableClock.atNow();
    private final FakeScheduledExecutor executor = new FakeScheduledExecutor(clock);
    private final FakeIssuer imds = new FakeIssuer(clock);
    private final FakeTokenEndpoint endpoint = new FakeTokenEndpoint();
    private MsiCredentialCache cache;

    /** The token endpoint as seen through a handshake: the token is bound to the certificate the key manager presents. */
    private final class FakeTokenEndpoint implements TokenGateway {
        final List<String> requests = new ArrayList<>();
        final Deque<Supplier<RuntimeException>> failures = new ArrayDeque<>();
        Duration lifetime = Duration.ofHours(1);
        /** When set, a request announces itself on {@code entered} and waits for this latch (a slow endpoint). */
        volatile CountDownLatch gate;
        final CountDownLatch entered = new CountDownLatch(1);

        @Override
        public synchronized AccessToken requestToken(String tokenEndpoint, String clientId, String resource, TokenType tokenType) {
            requests.add(tokenType.wireName() + " " + resource + " " + clientId);
            CountDownLatch g = gate;
            if (g != null) {
                entered.countDown();
                try {
                    assertTrue(g.await(30, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            Supplier<RuntimeException> failure = failures.poll();
            if (failure != null) {
                throw failure.get();
            }
            return new AccessToken("token-" + requests.size(), tokenType, clock.instant().plus(lifetime), presentedX5t());
        }
    }

    /** The x5t#S256 of the certificate a handshake through the cache's key manager presents now: what a token is bound to. */
    private String presentedX5t() {
        X509ExtendedKeyManager km = cache.keyManager();
        X509Certificate presented = km.getCertificateChain(km.chooseClientAlias(new String[] {"RSA"}, null, null))[0];
        return MtlsCredential.x5tS256(presented);
    }

    private MsiCredentialCache build(TokenType preference) {
        cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).tokenType(preference).tokenGateway(endpoint).build();
        return cache;
    }

    @AfterEach
    void close() {
        if (cache != null) {
            cache.close();
        }
    }

    private static TokenEndpointException invalidClient() {
        return new TokenEndpointException("AADSTS1000613: bad jku", 401, "invalid_client", "AADSTS1000613", "c-1", "s-1", null);
    }

    @Test
    void unattestedCredentialGetsABearerTokenOverMtlsAndItIsCachedPerResource() {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        assertEquals(TokenType.BEARER, first.tokenType());
        assertEquals(cache.get().x5tS256(), first.x5tS256());
        assertSame(first, cache.acquireToken(ARM), "served from the cache");
        AccessToken vault = cache.acquireToken("https://vault.azure.net");
        assertNotEquals(first.token(), vault.token());
        assertEquals(2, endpoint.requests.size());
        assertTrue(endpoint.requests.get(0).startsWith("bearer " + ARM + " d3adb33f"), endpoint.requests.toString());
    }

    @Test
    void preferenceAndExplicitTypeSelectPop() {
        build(TokenType.MTLS_POP);
        assertEquals(TokenType.MTLS_POP, cache.acquireToken(ARM).tokenType());
        assertEquals(TokenType.BEARER, cache.acquireToken(ARM, TokenType.BEARER).tokenType());
        AccessToken pop = cache.acquireToken(ARM, TokenType.MTLS_POP);
        assertSame(pop, cache.acquireToken(ARM), "the two types are cached apart");
        assertEquals(2, endpoint.requests.size());
    }

    @Test
    void aTokenBoundToTheOldCertificateIsNeverReturnedAfterRotation() {
        build(null);
        AccessToken before = cache.acquireToken(ARM);
        MtlsCredential renewed = cache.refresh();
        AccessToken after = cache.acquireToken(ARM);
        assertNotEquals(before.x5tS256(), after.x5tS256());
        assertEquals(renewed.x5tS256(), after.x5tS256());
        assertEquals(2, endpoint.requests.size());
    }

    @Test
    void tokenRefreshTimersAreCancelledOnRotationAndClose() {
        build(null);
        cache.get();
        int credentialTimers = executor.pending();
        cache.acquireToken(ARM);
        assertEquals(credentialTimers + 1, executor.pending(), "one refresh timer for the token");
        cache.refresh();
        assertEquals(credentialTimers, executor.pending(), "the old certificate's token and its timer are dropped");
        cache.acquireToken(ARM);
        cache.close();
        assertEquals(0, executor.pending(), "nothing is left scheduled after close");
    }

    @Test
    void tokensAreRefreshedAtHalfTheirLifetime() {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        executor.advance(Duration.ofMinutes(29));
        assertSame(first, cache.acquireToken(ARM));
        executor.advance(Duration.ofMinutes(2));
        AccessToken second = cache.acquireToken(ARM);
        assertNotEquals(first.token(), second.token());
    }

    @Test
    void aFailedRefreshServesTheStillValidCachedToken() {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        executor.advance(Duration.ofMinutes(40));
        endpoint.failures.add(() -> new TokenEndpointException("503", 503, "temporarily_unavailable", null, "c", "s", null));
        assertSame(first, cache.acquireToken(ARM));
        executor.advance(Duration.ofMinutes(25));
        endpoint.failures.add(() -> new TokenEndpointException("503", 503, "temporarily_unavailable", null, "c", "s", null));
        TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertEquals(503, e.tokenEndpointException().status());
    }

    @Test
    void invalidClientRenewsTheCredentialOnceAndRetriesOnce() {
        build(null);
        MtlsCredential first = cache.get();
        endpoint.failures.add(AcquireTokenTest::invalidClient);
        AccessToken token = cache.acquireToken(ARM);
        MtlsCredential renewed = cache.get();
        assertEquals(2, renewed.generation());
        assertNotEquals(first.x5tS256(), renewed.x5tS256());
        assertEquals(renewed.x5tS256(), token.x5tS256());
        assertEquals(2, imds.issueCalls.get());
        assertEquals(2, endpoint.requests.size());
    }

    @Test
    void aTlsFailureAlsoTriggersOneRenewal() {
        build(null);
        cache.get();
        endpoint.failures.add(() -> new TokenEndpointException("handshake failed", -1, null, null, "c", null,
                new SSLHandshakeException("Received fatal alert: bad_certificate")));
        cache.acquireToken(ARM);
        assertEquals(2, cache.get().generation());
    }

    @Test
    void aTokenEndpointWhoseCertificateWeDoNotTrustIsNoReasonToReplaceOurs() {
        build(null);
        MtlsCredential ours = cache.get();
        SSLHandshakeException untrusted = new SSLHandshakeException("PKIX path building failed");
        untrusted.initCause(new java.security.cert.CertificateException("unable to find valid certification path to requested target"));
        endpoint.failures.add(() -> new TokenEndpointException("handshake failed", -1, null, null, "c", null, untrusted));
        TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertFalse(e.getMessage().contains("re-issued"), e.getMessage());
        assertSame(ours, cache.get(), "the credential is kept");
        assertEquals(1, imds.issueCalls.get(), "nothing re-issued");
        assertEquals(1, endpoint.requests.size());
    }

    @Test
    void aSecondInvalidClientIsATypedErrorAndNotAnEndlessLoop() {
        build(null);
        cache.get();
        endpoint.failures.add(AcquireTokenTest::invalidClient);
        endpoint.failures.add(AcquireTokenTest::invalidClient);
        TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertEquals("invalid_client", e.tokenEndpointException().error());
        assertTrue(e.getMessage().contains("HTTP 401") && e.getMessage().contains("AADSTS1000613") && e.getMessage().contains("c-1")
                && e.getMessage().contains("re-issued once"), e.getMessage());
        assertEquals(2, endpoint.requests.size());
        assertEquals(2, imds.issueCalls.get());
    }

    @Test
    void callersHoldingAStillValidTokenDoNotQueueBehindASlowRefresh() throws Exception {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        executor.advance(Duration.ofMinutes(31)); // past the refresh point, 29 minutes before expiry
        endpoint.gate = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<AccessToken> refresher = pool.submit(() -> cache.acquireToken(ARM));
            assertTrue(endpoint.entered.await(10, TimeUnit.SECONDS), "the refresh reached the endpoint");
            // The endpoint is stuck on that refresh; another caller is served the valid token at once.
            assertSame(first, pool.submit(() -> cache.acquireToken(ARM)).get(10, TimeUnit.SECONDS));
            endpoint.gate.countDown();
            assertNotEquals(first.token(), refresher.get(10, TimeUnit.SECONDS).token());
        } finally {
            endpoint.gate.countDown();
            pool.shutdownNow();
        }
        assertEquals(2, endpoint.requests.size());
    }

    @Test
    void afterAFailedRefreshCallersKeepTheValidTokenForAWhileWithoutAskingAgain() {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        executor.advance(Duration.ofMinutes(40));
        endpoint.failures.add(() -> new TokenEndpointException("503", 503, "temporarily_unavailable", null, "c", "s", null));
        assertSame(first, cache.acquireToken(ARM));
        for (int i = 0; i < 5; i++) {
            assertSame(first, cache.acquireToken(ARM));
        }
        assertEquals(2, endpoint.requests.size(), "one initial request, one failed refresh, then no request for a while");
        executor.advance(Duration.ofMillis(MsiCredentialCache.TOKEN_REFRESH_RETRY_MILLIS));
        assertNotEquals(first.token(), cache.acquireToken(ARM).token());
        assertEquals(3, endpoint.requests.size());
    }

    @Test
    void anEndpointThatRejectsEveryCertificateGetsOneReissuePerIntervalNotOnePerRequest() {
        build(null);
        cache.get();
        for (int i = 0; i < 12; i++) {
            endpoint.failures.add(AcquireTokenTest::invalidClient);
        }
        TokenAcquisitionException first = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertTrue(first.getMessage().contains("re-issued once"), first.getMessage());
        assertEquals(2, imds.issueCalls.get());
        for (int i = 0; i < 4; i++) {
            TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
            assertTrue(e.getMessage().contains("was not re-issued"), e.getMessage());
        }
        assertEquals(2, imds.issueCalls.get(), "no issuance per failing request");
        assertEquals(6, endpoint.requests.size());
        executor.advance(Duration.ofMillis(MsiCredentialCache.REISSUE_INTERVAL_MILLIS));
        assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertEquals(3, imds.issueCalls.get(), "after the interval, a rejection re-issues again");
    }

    /*
     * Two requests for different resources rejected together (a revoked certificate): the re-issue the
     * first caller claims serves the second too. Before, the second found the once-per-interval re-issue
     * taken and failed, although the replacement was being issued at that moment.
     */
    @Test
    void requestsRejectedTogetherShareOneReissueAndBothSucceed() throws Exception {
        java.util.concurrent.CyclicBarrier bothRejected = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
        TokenGateway concurrent = (tokenEndpoint, clientId, resource, tokenType) -> {
            if (requests.incrementAndGet() <= 2) {
                try {
                    bothRejected.await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                throw invalidClient();
            }
            return new AccessToken("token-" + resource, tokenType, clock.instant().plus(Duration.ofHours(1)), presentedX5t());
        };
        cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).tokenGateway(concurrent).build();
        MtlsCredential revoked = cache.get();
        ExecutorService callers = Executors.newFixedThreadPool(2);
        try {
            Future<AccessToken> one = callers.submit(() -> cache.acquireToken(ARM));
            Future<AccessToken> two = callers.submit(() -> cache.acquireToken("https://vault.azure.net"));
            AccessToken a = one.get(30, TimeUnit.SECONDS);
            AccessToken b = two.get(30, TimeUnit.SECONDS);
            String renewed = cache.get().x5tS256();
            assertNotEquals(revoked.x5tS256(), renewed);
            assertEquals(renewed, a.x5tS256());
            assertEquals(renewed, b.x5tS256());
            assertEquals(2, imds.issueCalls.get(), "one re-issue for both");
        } finally {
            callers.shutdownNow();
        }
    }

    /*
     * A rejection while a refresh() is already at IMDS joins that refresh instead of taking the
     * once-per-interval re-issue; when the refresh fails, the caller fails typed. The re-issue is then
     * still there for the next rejection, and after it the limit holds.
     */
    @Test
    void aRejectionDuringARefreshJoinsItAndLeavesTheReissueForLater() throws Exception {
        build(null);
        cache.get();
        CountDownLatch gate = new CountDownLatch(1);
        imds.gate = gate;
        imds.failNext(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<?> refresh = threads.submit(() -> assertThrows(MsiCredentialException.class, cache::refresh));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (imds.issueCalls.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(2, imds.issueCalls.get(), "the refresh is at IMDS");
            endpoint.failures.add(AcquireTokenTest::invalidClient);
            Thread[] caller = new Thread[1];
            Future<?> rejected = threads.submit(() -> {
                caller[0] = Thread.currentThread();
                return assertThrows(MsiCredentialException.class, () -> cache.acquireToken(ARM));
            });
            while ((caller[0] == null || caller[0].getState() != Thread.State.WAITING && caller[0].getState() != Thread.State.TIMED_WAITING
                    || endpoint.requests.isEmpty()) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            gate.countDown();
            refresh.get(10, TimeUnit.SECONDS);
            rejected.get(10, TimeUnit.SECONDS);
        } finally {
            imds.gate = null;
            threads.shutdownNow();
        }
        assertEquals(2, imds.issueCalls.get(), "the rejection joined the refresh: no issuance of its own");

        executor.advance(Duration.ofMinutes(1));
        endpoint.failures.add(AcquireTokenTest::invalidClient);
        AccessToken after = cache.acquireToken("https://vault.azure.net");
        assertEquals(3, imds.issueCalls.get(), "the next rejection gets the re-issue");
        assertEquals(cache.get().x5tS256(), after.x5tS256());

        executor.advance(Duration.ofMinutes(1));
        endpoint.failures.add(AcquireTokenTest::invalidClient);
        TokenAcquisitionException e = assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken("https://graph.microsoft.com"));
        assertTrue(e.getMessage().contains("was not re-issued"), e.getMessage());
        assertEquals(3, imds.issueCalls.get(), "and then the limit holds");
    }

    /** Rotations faster than the token endpoint answers: a typed error, never a token for a replaced certificate. */
    @Test
    void aTokenIsNeverReturnedForACertificateReplacedWhileItWasRequested() {
        java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
        TokenGateway rotating = (tokenEndpoint, clientId, resource, tokenType) -> {
            requests.incrementAndGet();
            String presented = presentedX5t();
            cache.refresh(); // the credential rotates while the request is in flight
            return new AccessToken("token", tokenType, clock.instant().plus(Duration.ofHours(1)), presented);
        };
        cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).executor(executor).worker(Runnable::run).tokenGateway(rotating).build();
        CredentialUnavailableException e = assertThrows(CredentialUnavailableException.class, () -> cache.acquireToken(ARM));
        assertTrue(e.getMessage().contains("after 3 requests: it was replaced while they were in flight"), e.getMessage());
        assertEquals(3, requests.get());
    }

    @Test
    void aListenerMayAskForATokenWhileACallerWaitsForTheReissueThatListenerHearsOf() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        ExecutorService app = Executors.newSingleThreadExecutor();
        try {
            cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                    .keyAttestor(null).clock(clock).executor(executor).worker(worker).tokenGateway(endpoint).build();
            MtlsCredential before = cache.get();
            List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
            cache.addListener(event -> {
                if (event.type() == CredentialEvent.Type.RENEWED) {
                    heard.add(cache.acquireToken(ARM).x5tS256()); // the same resource the waiting caller asked for
                }
            });
            endpoint.failures.add(AcquireTokenTest::invalidClient);
            AccessToken token = app.submit(() -> cache.acquireToken(ARM)).get(20, TimeUnit.SECONDS);
            MtlsCredential renewed = cache.get();
            assertNotEquals(before.x5tS256(), renewed.x5tS256());
            assertEquals(renewed.x5tS256(), token.x5tS256());
            assertEquals(List.of(renewed.x5tS256()), heard);
        } finally {
            app.shutdownNow();
            worker.shutdownNow();
        }
    }

    @Test
    void otherErrorsAreNotRetried() {
        build(null);
        endpoint.failures.add(() -> new TokenEndpointException("bad scope", 400, "invalid_scope", "AADSTS70011", "c", "s", null));
        assertThrows(TokenAcquisitionException.class, () -> cache.acquireToken(ARM));
        assertEquals(1, endpoint.requests.size());
        assertEquals(1, imds.issueCalls.get());
    }

    @Test
    void replanAfterASuspendMarksOverdueTokensForRefresh() {
        build(null);
        AccessToken first = cache.acquireToken(ARM);
        clock.advance(Duration.ofMinutes(45));
        assertSame(first, cache.acquireToken(ARM), "the refresh timer has not fired (the VM slept)");
        cache.replan();
        assertNotEquals(first.token(), cache.acquireToken(ARM).token());
    }

    @Test
    void anAttestedCredentialGetsAPopTokenByDefault() {
        cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(new io.msiagent.core.spi.KeyAttestor() {
                    @Override
                    public String name() {
                        return "fake-maa";
                    }

                    @Override
                    public boolean isSupported() {
                        return true;
                    }

                    @Override
                    public java.util.Optional<String> attest(io.msiagent.core.spi.ManagedKey key, String endpoint, String clientId) {
                        return java.util.Optional.of("jwt");
                    }

                    @Override
                    public String unavailableReason() {
                        return null;
                    }
                }).clock(clock).executor(executor).worker(Runnable::run).tokenGateway(endpoint).build();
        assertEquals(TokenType.MTLS_POP, cache.acquireToken(ARM).tokenType());
    }
}
