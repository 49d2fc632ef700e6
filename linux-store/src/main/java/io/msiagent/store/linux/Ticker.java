package io.msiagent.store.linux;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/** Monotonic time and pauses for bounded waits (lock polling, re-reads), injectable in tests. */
interface Ticker {
    Ticker SYSTEM = new Ticker() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void pause(Duration d) {
            LockSupport.parkNanos(d.toNanos());
        }
    };

    long nanoTime();

    /** Pauses about {@code d}; may return early (callers re-check their condition and deadline). */
    void pause(Duration d);
}
