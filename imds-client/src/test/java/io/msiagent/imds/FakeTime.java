package io.msiagent.imds;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A clock that only moves when someone sleeps on it; records every sleep. */
final class FakeTime implements TimeSource, Sleeper {
    static final Instant START = Instant.parse("2026-11-22T12:00:00Z");

    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
    private long nanos = 1_000_000_000L;
    private Instant wall = START;

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    @Override
    public synchronized Instant now() {
        return wall;
    }

    @Override
    public synchronized void sleep(Duration duration) {
        sleeps.add(duration);
        nanos += duration.toNanos();
        wall = wall.plus(duration);
    }

    List<Duration> sleeps() {
        return List.copyOf(sleeps);
    }

    List<Long> sleepMillis() {
        return sleeps.stream().map(Duration::toMillis).toList();
    }
}
