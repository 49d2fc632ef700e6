package io.msiagent.imds;

import java.time.Instant;

/**
 * The two clocks a call needs: a monotonic one for its deadline, and the wall clock for
 * {@code Retry-After} dates and token expiry. Injectable so tests can move time with their fake
 * {@link Sleeper} instead of waiting.
 */
interface TimeSource {
    TimeSource SYSTEM = new TimeSource() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Instant now() {
            return Instant.now();
        }
    };

    long nanoTime();

    Instant now();
}
