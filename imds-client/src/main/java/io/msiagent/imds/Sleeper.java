package io.msiagent.imds;

import java.time.Duration;

/** Where retry back-off waits go, so that tests can record them instead of waiting. */
@FunctionalInterface
public interface Sleeper {
    Sleeper REAL = d -> Thread.sleep(d.toMillis());

    void sleep(Duration duration) throws InterruptedException;
}
