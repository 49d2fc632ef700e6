package io.msiagent.cli;

import io.msiagent.core.CredentialEvent;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.RenewalPolicy;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The background agent ({@code msi-agent run}). The credential cache does the real work: it
 * serves from the store first, renews at renewAt with its own timers and backs off on failures
 * (RenewalPolicy: exponential with jitter, at most 5 minutes and a tenth of the remaining
 * validity). The agent adds what a long-running process needs around it:
 * <ul>
 * <li>a first acquisition that keeps retrying with the same back-off when IMDS is down at start;</li>
 * <li>a store watch (every {@link #WATCH_INTERVAL}, {@code inspect} only): a credential that another
 * process renewed is adopted (a new cache takes it from the store, so its renewAt becomes the plan),
 * one that was removed or corrupted is re-acquired at once;</li>
 * <li>wall-clock jump detection on the same tick (suspend/resume, clock steps): {@code replan()};</li>
 * <li>event lines, the audit log, metrics, the {@code --on-renew} hook (for every new credential served, the first
 * one issued at start included; not for the stored one taken over unchanged at start);</li>
 * <li>a shutdown that refuses new saves, waits briefly for one in flight, and closes the cache.</li>
 * </ul>
 */
final class Agent {
    static final Duration WATCH_INTERVAL = Duration.ofSeconds(5);
    /** A wall-clock vs monotonic difference above this on one tick is a jump. */
    static final Duration JUMP_THRESHOLD = Duration.ofSeconds(2);
    static final Duration SAVE_WAIT_AT_SHUTDOWN = Duration.ofMillis(1200);

    private final ManagedIdentityId identity;
    private final ObservedStore store;
    private final Supplier<MsiCredentialCache> cacheFactory;
    private final AgentEvents events;
    private final AuditLog audit;
    private final AgentMetrics metrics;
    private final RenewHook hook;
    private final Clock clock;
    private final RenewalPolicy policy = RenewalPolicy.defaults();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "msi-agent-watch");
        t.setDaemon(true);
        return t;
    });
    private final CountDownLatch stopped = new CountDownLatch(1);

    // Touched on the scheduler thread only, except `cache` (read by shutdown) and the volatile flags.
    private volatile MsiCredentialCache cache;
    private volatile boolean stopping;
    private volatile int startAttempts;
    private volatile int failedAttempts;
    private int reacquireAttempts;
    private Instant nextReacquire = Instant.MIN;
    private volatile String trigger;
    private long lastWallMillis;
    private long lastNanos;

    Agent(ManagedIdentityId identity, ObservedStore store, Supplier<MsiCredentialCache> cacheFactory, AgentEvents events,
            AuditLog audit, AgentMetrics metrics, String onRenew, java.io.PrintStream err, Clock clock) {
        this.identity = identity;
        this.store = store;
        this.cacheFactory = cacheFactory;
        this.events = events;
        this.audit = audit;
        this.metrics = metrics;
        this.clock = clock;
        this.hook = onRenew == null ? null : new RenewHook(onRenew, err, this::hookDone);
    }

    void start() {
        cache = newCache(false);
        lastWallMillis = clock.millis();
        lastNanos = System.nanoTime();
        scheduler.execute(this::acquireAtStart);
        scheduler.scheduleWithFixedDelay(this::watchTick, WATCH_INTERVAL.toMillis(), WATCH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    void awaitStop() throws InterruptedException {
        stopped.await();
    }

    private MsiCredentialCache newCache(boolean adopting) {
        MsiCredentialCache c = cacheFactory.get();
        c.addListener(new Listener(adopting));
        return c;
    }

    // ------------------------------------------------------------ acquisition at start

    private void acquireAtStart() {
        if (stopping) {
            return;
        }
        trigger = "start";
        try {
            cache.get();
        } catch (MsiCredentialException e) {
            if (stopping) {
                return; // the stop interrupted it (or closed the cache): not a failed acquisition
            }
            startAttempts++;
            Duration wait = policy.retryDelay(startAttempts, null);
            Instant next = clock.instant().plus(wait);
            String reason = Failures.describe(e);
            metrics.failed(reason);
            Map<String, Object> m = events.event("ACQUIRE_FAILED");
            m.put("attempt", startAttempts);
            m.put("reason", reason);
            m.put("nextAttempt", next.toString());
            events.emit(m);
            auditProblem(audit.append(identity, "acquire_failed", null, "start", "failure", null, reason));
            scheduler.schedule(this::acquireAtStart, wait.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------ the watch tick

    private void watchTick() {
        if (stopping) {
            return;
        }
        try {
            detectClockJump();
            watchStore();
        } catch (RuntimeException e) {
            Map<String, Object> m = events.event("WATCH_FAILED");
            m.put("reason", Failures.describe(e));
            events.emit(m);
        }
    }

    private void detectClockJump() {
        long wall = clock.millis();
        long nanos = System.nanoTime();
        long jumpMillis = (wall - lastWallMillis) - (nanos - lastNanos) / 1_000_000;
        lastWallMillis = wall;
        lastNanos = nanos;
        if (Math.abs(jumpMillis) > JUMP_THRESHOLD.toMillis()) {
            Map<String, Object> m = events.event("CLOCK_JUMP");
            m.put("jump", jumpMillis / 1000.0);
            m.put("reason", "the wall clock moved " + Durations.human(Duration.ofMillis(jumpMillis))
                    + " against the monotonic clock (suspend/resume or a clock step): re-planning");
            events.emit(m);
            cache.replan();
        }
    }

    private void watchStore() {
        // Set by our listener, which the cache calls before get() returns: a tick right after the
        // acquisition at start sees what it obtained, and does not "adopt" the same credential.
        MtlsCredential held = metrics.credential();
        LoadResult r;
        try {
            r = store.inspect(identity);
        } catch (StoreException e) {
            r = LoadResult.invalid(e.getMessage());
        }
        Instant now = clock.instant();
        if (r.kind() == LoadResult.Kind.FOUND) {
            reacquireAttempts = 0;
            MtlsCredential stored = r.credential().orElseThrow();
            boolean foreign = !store.savedHere(stored.x5tS256()) && (held == null || !held.x5tS256().equals(stored.x5tS256()));
            boolean better = held == null || !stored.notAfter().isBefore(held.notAfter());
            if (foreign && better && now.isBefore(stored.notAfter())) {
                adopt(stored);
            }
            return;
        }
        if (held == null || now.isBefore(nextReacquire)) {
            return; // nothing served yet: the acquisition at start (or the cache's retries) is on it
        }
        if (r.isLeftInPlace()) {
            // Another version's entry (a newer msi-agent): a new issuance could not be saved over it. The
            // credential in memory is served and renewed on its own schedule; status tells why it is not stored.
            return;
        }
        Map<String, Object> m = AgentEvents.credential(events.event("STORE_REMOVED"), held);
        m.put("reason", r.problem() != null ? r.problem() : "the stored credential was removed");
        events.emit(m);
        reacquireAttempts++;
        nextReacquire = now.plus(policy.retryDelay(reacquireAttempts, Duration.between(now, held.notAfter())));
        trigger = r.kind() == LoadResult.Kind.INVALID ? "store-invalid" : "store-removed";
        try {
            cache.refresh();
        } catch (MsiCredentialException e) {
            reportFailure(held, e, nextReacquire);
        }
    }

    /** Another process stored a newer credential: a fresh cache takes it from the store (renewAt included). */
    private void adopt(MtlsCredential stored) {
        MsiCredentialCache fresh = newCache(true);
        trigger = "adopted";
        try {
            fresh.get();
        } catch (MsiCredentialException e) {
            fresh.close();
            reportFailure(metrics.credential(), e, null);
            return;
        }
        MsiCredentialCache old = cache;
        cache = fresh;
        old.close();
        if (stopping) {
            fresh.close();
        }
    }

    // ------------------------------------------------------------ cache events

    private final class Listener implements io.msiagent.core.CredentialListener {
        private boolean adopting;

        Listener(boolean adopting) {
            this.adopting = adopting;
        }

        @Override
        public void onEvent(CredentialEvent e) {
            MtlsCredential c = e.credential();
            switch (e.type()) {
                case ACQUIRED, RENEWED -> {
                    boolean issued = store.savedHere(c.x5tS256());
                    String name = e.type() == CredentialEvent.Type.RENEWED ? "RENEWED" : adopting && !issued ? "ADOPTED" : "ACQUIRED";
                    String why = trigger != null ? trigger : failedAttempts > 0 ? "retry" : "renewAt";
                    trigger = null;
                    adopting = false;
                    failedAttempts = 0;
                    startAttempts = 0;
                    Duration took = issued ? store.lastAcquisitionDuration() : null;
                    if (name.equals("ACQUIRED") && !"start".equals(why)) {
                        name = "RENEWED"; // a re-acquisition after removal or expiry is a renewal for consumers
                    }
                    if (name.equals("ACQUIRED")) {
                        metrics.serving(c, took);
                    } else {
                        metrics.renewed(c, took);
                    }
                    Map<String, Object> m = AgentEvents.credential(events.event(name), c);
                    m.put("source", issued ? "imds" : "store");
                    m.put("trigger", why);
                    m.put("duration", AgentEvents.seconds(took));
                    events.emit(m);
                    auditProblem(audit.append(identity, name.toLowerCase(java.util.Locale.ROOT), c, why, "success", took, null));
                    // A new thumbprint to serve: issued here (at start too), renewed, adopted or re-acquired. Only the
                    // stored credential taken over unchanged at start is one the files' readers already have.
                    String notStored = store.saveFailure(c.x5tS256());
                    if (notStored != null) {
                        // The file the hook would hand on holds another certificate than the one served.
                        Map<String, Object> skipped = AgentEvents.credential(events.event("NOT_PERSISTED"), c);
                        skipped.put("reason", notStored + (hook != null ? "; --on-renew not run" : ""));
                        events.emit(skipped);
                    } else if (hook != null && (issued || !name.equals("ACQUIRED"))) {
                        hook.fire(c, store.location(identity));
                    }
                }
                case RENEWAL_FAILED -> reportFailure(c, e.cause(), e.nextAttempt());
                case EXPIRED -> {
                    metrics.expired(c, "the credential expired at " + c.notAfter() + " without a successor");
                    Map<String, Object> m = AgentEvents.credential(events.event("EXPIRED"), c);
                    m.put("reason", "no successor before notAfter; acquiring from scratch");
                    events.emit(m);
                    auditProblem(audit.append(identity, "expired", c, "notAfter", "failure", null, null));
                    // what follows is an acquisition from scratch; its attempts keep counting, as the cache's back-off does
                    trigger = "expired";
                }
                default -> {
                }
            }
        }
    }

    private synchronized void reportFailure(MtlsCredential kept, Throwable cause, Instant nextAttempt) {
        if (stopping) {
            return; // a failure the stop caused (the cache closed under a flight) is the stop, not a failure
        }
        failedAttempts++;
        Instant now = clock.instant();
        String reason = cause == null ? "unknown" : Failures.describe(cause);
        metrics.failed(reason);
        // With nothing held (the credential expired) this is an acquisition that failed, as at start:
        // no credential kept, no time left.
        Map<String, Object> m = kept == null ? events.event("ACQUIRE_FAILED")
                : AgentEvents.credential(events.event("RENEWAL_FAILED"), kept);
        m.put("attempt", failedAttempts);
        m.put("reason", reason);
        if (kept != null) {
            m.put("timeLeft", AgentEvents.seconds(now, kept.notAfter()));
        }
        m.put("nextAttempt", nextAttempt == null ? null : nextAttempt.toString());
        events.emit(m);
        auditProblem(audit.append(identity, kept == null ? "acquire_failed" : "renewal_failed", kept, trigger != null ? trigger : "renewAt",
                "failure", null, reason));
    }

    private void hookDone(MtlsCredential c, RenewHook.Result result) {
        Map<String, Object> m = events.event(result.failure() == null ? "HOOK_RAN" : "HOOK_FAILED");
        m.put("x5tS256", c.x5tS256());
        m.put("exitCode", result.exitCode());
        m.put("duration", AgentEvents.seconds(result.duration()));
        m.put("reason", result.failure());
        events.emit(m);
    }

    private void auditProblem(String problem) {
        if (problem != null) {
            Map<String, Object> m = events.event("AUDIT_FAILED");
            m.put("reason", problem);
            events.emit(m);
        }
    }

    // ------------------------------------------------------------ shutdown

    /**
     * Stops within a bounded time: no new saves, a save in flight gets {@link #SAVE_WAIT_AT_SHUTDOWN}
     * to finish (the store's atomic replace means an interrupted one leaves the old entry), then the
     * cache, the watch and the hook stop. Store locks are released by the kernel at exit at the latest.
     */
    void shutdown(String signal) {
        if (stopping) {
            return;
        }
        stopping = true;
        Map<String, Object> m = events.event("STOPPING");
        m.put("signal", signal);
        events.emit(m);
        boolean saved;
        try {
            saved = store.closeAndAwaitSaves(SAVE_WAIT_AT_SHUTDOWN);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            saved = false;
        }
        scheduler.shutdownNow();
        MsiCredentialCache c = cache;
        if (c != null) {
            c.close();
        }
        if (hook != null) {
            hook.close();
        }
        Map<String, Object> done = events.event("STOPPED");
        done.put("pendingSave", !saved);
        events.emitLast(done);
        stopped.countDown();
    }
}
