package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.msiagent.core.testing.MutableClock;
import io.msiagent.imds.AccessToken;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A suspend as the JVM sees it: the wall clock jumps while the cache's real timers, which wait on
 * the monotonic clock, do not fire. Nobody calls {@code replan()} (a library user has no agent);
 * the cache's own clock check must notice. The wall clock is moved by hand, the timers are real.
 */
class ClockJumpTest {
    private final MutableClock clock = MutableClock.atNow();
    private final FakeIssuer imds = new FakeIssuer(clock);
    private final List<CredentialEvent.Type> events = new CopyOnWriteArrayList<>();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private MsiCredentialCache cache;

    private MsiCredentialCache cache() {
        cache = MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).clock(clock).clockCheckInterval(Duration.ofMillis(100))
                .tokenGateway((endpoint, clientId, resource, type) -> new AccessToken("token-" + tokenRequests.incrementAndGet(), type,
                        clock.instant().plus(Duration.ofHours(1)), cache.get().x5tS256()))
                .build();
        cache.addListener(e -> events.add(e.type()));
        return cache;
    }

    @AfterEach
    void close() {
        cache.close();
    }

    @Test
    void aCredentialThatExpiredDuringASuspendIsReplacedWithoutReplan() {
        imds.lifetime = Duration.ofHours(1);
        MtlsCredential first = cache().get();

        clock.advance(Duration.ofHours(2)); // slept past notAfter; the expiry timer still has an hour to wait

        awaitTrue(() -> cache.get().generation() > first.generation(), "a successor replaces the credential that expired asleep");
        assertEquals(CredentialState.FRESH, cache.get().stateAt(clock.instant()));
        assertTrue(events.contains(CredentialEvent.Type.EXPIRED), events.toString());
        assertEquals(2, imds.issueCalls.get());
    }

    @Test
    void aTokenThatExpiredDuringASuspendIsNotServed() {
        AccessToken first = cache().acquireToken("https://management.azure.com");

        clock.advance(Duration.ofHours(2)); // past the token's expiry; its refresh timer still has half an hour to wait

        awaitTrue(() -> !cache.acquireToken("https://management.azure.com").token().equals(first.token()),
                "the token that expired asleep is refreshed");
        AccessToken next = cache.acquireToken("https://management.azure.com");
        assertTrue(next.expiresOn().isAfter(clock.instant()), next.expiresOn().toString());
        assertEquals(1, imds.issueCalls.get(), "the credential (24 h) was still fresh: only the token is new");
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
        fail("not within 20 s: " + what);
    }
}
