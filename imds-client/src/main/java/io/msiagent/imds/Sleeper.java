package io.msiagent.imds;

import java.time.Duration;

/** Where retry back-off waits go, so that tests can record them instead of waiting. */
@FunctionalInterface
public interface Sleeper {
    /*
     * A class, not a lambda: the JVM's first lambda costs a fresh JVM ~8 ms of method-handle set-up,
     * and this field is made whenever an ImdsClient is built, i.e. on every cold start.
     */
    Sleeper REAL = new Sleeper() {
        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration.toMillis());
        }
    };

    void sleep(Duration duration) throws InterruptedException;
}
