package io.msiagent.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When to renew a certificate and how long to wait after a failed renewal. Pure functions of their
 * arguments (the random draw is a parameter), so every rule can be tested exactly.
 *
 * <p>{@code renewAt = notBefore + lifetime × (fraction + jitter × (2u − 1))} for a uniform
 * {@code u} in [0, 1), drawn once per certificate at issuance and persisted with it. Defaults:
 * fraction 0.5, jitter 0.05 (so renewal falls between 45 % and 55 % of the lifetime).
 *
 * <p>Retry waits grow exponentially from {@code initialBackoff} with "equal jitter" (half fixed,
 * half random), and never exceed {@code maxBackoff} nor a tenth of the remaining validity, and are
 * never shorter than one second.
 */
public final class RenewalPolicy {
    private static final Duration MIN_WAIT = Duration.ofSeconds(1);
    private static final RenewalPolicy DEFAULTS = builder().build();

    private final double fraction;
    private final double jitter;
    private final Duration initialBackoff;
    private final Duration maxBackoff;

    private RenewalPolicy(Builder b) {
        if (!(b.jitter >= 0) || !(b.fraction - b.jitter > 0) || !(b.fraction + b.jitter < 1)) {
            throw new IllegalArgumentException("need 0 <= jitter and 0 < fraction - jitter and fraction + jitter < 1, got fraction="
                    + b.fraction + ", jitter=" + b.jitter);
        }
        if (b.initialBackoff.compareTo(MIN_WAIT) < 0 || b.maxBackoff.compareTo(b.initialBackoff) < 0) {
            throw new IllegalArgumentException("need 1 s <= initialBackoff <= maxBackoff");
        }
        this.fraction = b.fraction;
        this.jitter = b.jitter;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
    }

    /** Half-life ± 5 %, back-off from 1 s up to 5 minutes. */
    public static RenewalPolicy defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    public double fraction() {
        return fraction;
    }

    public double jitter() {
        return jitter;
    }

    /** {@link #renewAt(Instant, Instant, double)} with a fresh random draw. */
    public Instant renewAt(Instant notBefore, Instant notAfter) {
        return renewAt(notBefore, notAfter, ThreadLocalRandom.current().nextDouble());
    }

    /**
     * The renewal instant of a certificate valid from {@code notBefore} to {@code notAfter}, for
     * the uniform draw {@code u} in [0, 1). Millisecond precision; always in
     * [notBefore, notAfter).
     */
    public Instant renewAt(Instant notBefore, Instant notAfter, double u) {
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("notAfter " + notAfter + " is not after notBefore " + notBefore);
        }
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("u must be in [0, 1): " + u);
        }
        long lifetimeMillis = notAfter.toEpochMilli() - notBefore.toEpochMilli();
        double share = fraction + jitter * (2 * u - 1);
        long offset = Math.round(lifetimeMillis * share);
        offset = Math.max(0, Math.min(offset, lifetimeMillis - 1));
        return Instant.ofEpochMilli(notBefore.toEpochMilli() + offset);
    }

    /** {@link #retryDelay(int, Duration, double)} with a fresh random draw. */
    public Duration retryDelay(int failedAttempts, Duration remainingValidity) {
        return retryDelay(failedAttempts, remainingValidity, ThreadLocalRandom.current().nextDouble());
    }

    /**
     * How long to wait before the next renewal attempt after {@code failedAttempts} (>= 1)
     * consecutive failures, while the current credential has {@code remainingValidity} left
     * (zero, negative or null when none: then only maxBackoff caps the wait). The wait is at most
     * min(maxBackoff, remaining / 10) and never below 1 s.
     */
    public Duration retryDelay(int failedAttempts, Duration remainingValidity, double u) {
        if (failedAttempts < 1) {
            throw new IllegalArgumentException("failedAttempts must be >= 1: " + failedAttempts);
        }
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("u must be in [0, 1): " + u);
        }
        long maxMillis = maxBackoff.toMillis();
        int shift = Math.min(failedAttempts - 1, 40);
        long exponential = initialBackoff.toMillis() > (maxMillis >> shift) ? maxMillis : Math.min(maxMillis, initialBackoff.toMillis() << shift);
        long jittered = exponential / 2 + Math.round(exponential / 2.0 * u);
        long cap = maxMillis;
        if (remainingValidity != null && remainingValidity.compareTo(Duration.ZERO) > 0) {
            cap = Math.min(cap, remainingValidity.toMillis() / 10);
        }
        return Duration.ofMillis(Math.max(MIN_WAIT.toMillis(), Math.min(jittered, cap)));
    }

    @Override
    public String toString() {
        return "RenewalPolicy[fraction=" + fraction + ", jitter=" + jitter + ", backoff=" + initialBackoff + ".." + maxBackoff + "]";
    }

    public static final class Builder {
        private double fraction = 0.5;
        private double jitter = 0.05;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofMinutes(5);

        private Builder() {
        }

        /** The share of the lifetime after which renewal is due (default 0.5). */
        public Builder fraction(double fraction) {
            this.fraction = fraction;
            return this;
        }

        /** Half-width of the uniform jitter, as a share of the lifetime (default 0.05). */
        public Builder jitter(double jitter) {
            this.jitter = jitter;
            return this;
        }

        public Builder initialBackoff(Duration initialBackoff) {
            this.initialBackoff = Objects.requireNonNull(initialBackoff);
            return this;
        }

        public Builder maxBackoff(Duration maxBackoff) {
            this.maxBackoff = Objects.requireNonNull(maxBackoff);
            return this;
        }

        public RenewalPolicy build() {
            return new RenewalPolicy(this);
        }
    }
}
