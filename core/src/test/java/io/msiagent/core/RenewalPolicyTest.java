package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RenewalPolicyTest {
    private static final Instant NOT_BEFORE = Instant.parse("2026-11-22T10:00:00Z");
    private static final List<Duration> LIFETIMES = List.of(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofHours(1),
            Duration.ofHours(24), Duration.ofDays(7), Duration.ofDays(30));
    private final RenewalPolicy policy = RenewalPolicy.defaults();

    @Test
    void renewAtIsHalfLifeForTheMiddleDrawAcrossLifetimes() {
        for (Duration lifetime : LIFETIMES) {
            Instant renewAt = policy.renewAt(NOT_BEFORE, NOT_BEFORE.plus(lifetime), 0.5);
            assertEquals(NOT_BEFORE.plus(lifetime.dividedBy(2)), renewAt, lifetime.toString());
        }
    }

    @Test
    void jitterStaysWithinFivePercentOfTheLifetimeAtBothEnds() {
        for (Duration lifetime : LIFETIMES) {
            Instant notAfter = NOT_BEFORE.plus(lifetime);
            long ms = lifetime.toMillis();
            assertEquals(NOT_BEFORE.plusMillis(Math.round(ms * 0.45)), policy.renewAt(NOT_BEFORE, notAfter, 0.0), lifetime.toString());
            Instant high = policy.renewAt(NOT_BEFORE, notAfter, Math.nextDown(1.0));
            assertTrue(!high.isAfter(NOT_BEFORE.plusMillis(Math.round(ms * 0.55))) && high.isAfter(NOT_BEFORE.plusMillis(Math.round(ms * 0.55)).minusMillis(2)),
                    lifetime + ": " + high);
        }
    }

    @Test
    void randomDrawsCoverTheJitterBandAndNeverLeaveIt() {
        SplittableRandom random = new SplittableRandom(42);
        for (Duration lifetime : LIFETIMES) {
            Instant notAfter = NOT_BEFORE.plus(lifetime);
            long min = Long.MAX_VALUE;
            long max = Long.MIN_VALUE;
            for (int i = 0; i < 10_000; i++) {
                long offset = policy.renewAt(NOT_BEFORE, notAfter, random.nextDouble()).toEpochMilli() - NOT_BEFORE.toEpochMilli();
                min = Math.min(min, offset);
                max = Math.max(max, offset);
            }
            long ms = lifetime.toMillis();
            assertTrue(min >= Math.round(ms * 0.45) && max <= Math.round(ms * 0.55), lifetime + ": " + min + ".." + max);
            assertTrue(min < Math.round(ms * 0.46) && max > Math.round(ms * 0.54), "the band is used, " + lifetime + ": " + min + ".." + max);
        }
    }

    @Test
    void customFractionAndMillisecondPrecisionForTenSeconds() {
        RenewalPolicy twoThirds = RenewalPolicy.builder().fraction(2.0 / 3).jitter(0).build();
        assertEquals(NOT_BEFORE.plusMillis(6667), twoThirds.renewAt(NOT_BEFORE, NOT_BEFORE.plusSeconds(10), 0.3));
        assertEquals(NOT_BEFORE.plusMillis(1_728_000_000L), twoThirds.renewAt(NOT_BEFORE, NOT_BEFORE.plus(Duration.ofDays(30)), 0.9));
    }

    @Test
    void invalidPoliciesAndInputsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RenewalPolicy.builder().fraction(0.98).jitter(0.05).build());
        assertThrows(IllegalArgumentException.class, () -> RenewalPolicy.builder().fraction(0.04).jitter(0.05).build());
        assertThrows(IllegalArgumentException.class, () -> RenewalPolicy.builder().jitter(-0.1).build());
        assertThrows(IllegalArgumentException.class, () -> policy.renewAt(NOT_BEFORE, NOT_BEFORE, 0.5));
        assertThrows(IllegalArgumentException.class, () -> policy.renewAt(NOT_BEFORE, NOT_BEFORE.plusSeconds(10), 1.0));
        assertThrows(IllegalArgumentException.class, () -> policy.retryDelay(0, Duration.ofHours(1), 0.5));
    }

    @Test
    void backoffGrowsExponentiallyWithJitterUpToFiveMinutes() {
        Duration plenty = Duration.ofDays(7);
        assertEquals(Duration.ofSeconds(1), policy.retryDelay(1, plenty, 0.0), "floor of 1 s");
        assertEquals(Duration.ofSeconds(1), policy.retryDelay(1, plenty, 0.999));
        assertEquals(Duration.ofSeconds(4), policy.retryDelay(4, plenty, 0.0), "half of 8 s");
        assertEquals(Duration.ofSeconds(8), policy.retryDelay(4, plenty, Math.nextDown(1.0)));
        assertEquals(Duration.ofSeconds(150), policy.retryDelay(20, plenty, 0.0), "half of the 5 min cap");
        assertEquals(Duration.ofMinutes(5), policy.retryDelay(20, plenty, Math.nextDown(1.0)));
        assertEquals(Duration.ofMinutes(5), policy.retryDelay(Integer.MAX_VALUE, plenty, Math.nextDown(1.0)), "no overflow");
    }

    @Test
    void backoffNeverExceedsATenthOfTheRemainingValidityNorGoesBelowOneSecond() {
        SplittableRandom random = new SplittableRandom(7);
        for (Duration remaining : List.of(Duration.ofSeconds(3), Duration.ofSeconds(15), Duration.ofMinutes(2), Duration.ofMinutes(20),
                Duration.ofHours(10), Duration.ofDays(30))) {
            for (int attempt = 1; attempt <= 40; attempt++) {
                Duration d = policy.retryDelay(attempt, remaining, random.nextDouble());
                Duration cap = Duration.ofMillis(Math.min(Duration.ofMinutes(5).toMillis(), remaining.toMillis() / 10));
                assertTrue(d.compareTo(Duration.ofSeconds(1)) >= 0, remaining + "/" + attempt + ": " + d);
                assertTrue(d.compareTo(cap) <= 0 || d.equals(Duration.ofSeconds(1)), remaining + "/" + attempt + ": " + d);
            }
        }
        assertEquals(Duration.ofMinutes(5), policy.retryDelay(30, Duration.ZERO, Math.nextDown(1.0)), "after expiry only the 5 min cap applies");
    }
}
