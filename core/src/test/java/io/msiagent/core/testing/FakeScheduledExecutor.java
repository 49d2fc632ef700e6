package io.msiagent.core.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A deterministic scheduled executor driven by a {@link MutableClock}: nothing runs until the test
 * calls {@link #runDue()} or {@link #advance(Duration)}, which move the clock from due time to due
 * time and run each task on the calling thread, in (due time, submission) order. Hours of timers
 * take milliseconds. Periodic scheduling is not supported (the engine does not use it).
 */
public final class FakeScheduledExecutor extends AbstractExecutorService implements ScheduledExecutorService {
    private final MutableClock clock;
    private final List<Task<?>> tasks = new ArrayList<>();
    private long sequence;
    private boolean shutdown;

    public FakeScheduledExecutor(MutableClock clock) {
        this.clock = clock;
    }

    /** Runs every task due now (including tasks those tasks schedule for now). Returns how many ran. */
    public int runDue() {
        int ran = 0;
        for (Task<?> t; (t = nextDue(clock.millis())) != null; ) {
            t.run();
            ran++;
        }
        return ran;
    }

    /** Moves the clock forward by {@code d}, running each task at its due time. Returns how many ran. */
    public int advance(Duration d) {
        long target = clock.millis() + d.toMillis();
        int ran = 0;
        for (Task<?> t; (t = nextDue(target)) != null; ) {
            if (t.dueMillis > clock.millis()) {
                clock.set(java.time.Instant.ofEpochMilli(t.dueMillis));
            }
            t.run();
            ran++;
        }
        if (clock.millis() < target) {
            clock.set(java.time.Instant.ofEpochMilli(target));
        }
        return ran;
    }

    /** Tasks scheduled and neither run nor cancelled. */
    public synchronized int pending() {
        return (int) tasks.stream().filter(t -> !t.isDone()).count();
    }

    /** Due time (epoch millis) of the earliest pending task, or -1. */
    public synchronized long nextDueMillis() {
        return tasks.stream().filter(t -> !t.isDone()).mapToLong(t -> t.dueMillis).min().orElse(-1);
    }

    private synchronized Task<?> nextDue(long limit) {
        tasks.removeIf(Task::isDone);
        Task<?> best = null;
        for (Task<?> t : tasks) {
            if (t.dueMillis <= limit && (best == null || t.dueMillis < best.dueMillis
                    || (t.dueMillis == best.dueMillis && t.seq < best.seq))) {
                best = t;
            }
        }
        if (best != null) {
            tasks.remove(best);
        }
        return best;
    }

    private synchronized <V> Task<V> add(Callable<V> callable, long delay, TimeUnit unit) {
        if (shutdown) {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }
        Task<V> t = new Task<>(callable, clock.millis() + Math.max(0, unit.toMillis(delay)), sequence++);
        tasks.add(t);
        return t;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return add(() -> {
            command.run();
            return null;
        }, delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return add(callable, delay, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException("periodic tasks are not supported by the fake executor");
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("periodic tasks are not supported by the fake executor");
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void shutdown() {
        shutdown = true;
    }

    @Override
    public synchronized List<Runnable> shutdownNow() {
        shutdown = true;
        List<Runnable> left = new ArrayList<>(tasks);
        tasks.forEach(t -> t.cancel(false));
        tasks.clear();
        return left;
    }

    @Override
    public synchronized boolean isShutdown() {
        return shutdown;
    }

    @Override
    public synchronized boolean isTerminated() {
        return shutdown && tasks.isEmpty();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return isTerminated();
    }

    private final class Task<V> implements ScheduledFuture<V>, Runnable {
        final Callable<V> callable;
        final long dueMillis;
        final long seq;
        final CompletableFuture<V> outcome = new CompletableFuture<>();

        Task(Callable<V> callable, long dueMillis, long seq) {
            this.callable = callable;
            this.dueMillis = dueMillis;
            this.seq = seq;
        }

        @Override
        public void run() {
            if (outcome.isDone()) {
                return;
            }
            try {
                outcome.complete(callable.call());
            } catch (Exception e) {
                outcome.completeExceptionally(e);
            }
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueMillis - clock.millis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.MILLISECONDS), o.getDelay(TimeUnit.MILLISECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return outcome.cancel(false);
        }

        @Override
        public boolean isCancelled() {
            return outcome.isCancelled();
        }

        @Override
        public boolean isDone() {
            return outcome.isDone();
        }

        @Override
        public V get() throws InterruptedException, ExecutionException {
            return outcome.get();
        }

        @Override
        public V get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            return outcome.get(timeout, unit);
        }
    }
}
