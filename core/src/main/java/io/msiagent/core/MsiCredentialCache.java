package io.msiagent.core;

import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.KeyProvider;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.spi.StoreOptions;
import io.msiagent.imds.AccessToken;
import io.msiagent.imds.IdentitySelector;
import io.msiagent.imds.ImdsClient;
import io.msiagent.imds.ImdsException;
import io.msiagent.imds.IssuedCredential;
import io.msiagent.imds.MtlsTokenClient;
import io.msiagent.imds.PlatformMetadata;
import io.msiagent.imds.TokenEndpointException;
import io.msiagent.imds.TokenType;
import java.net.SocketException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The credential engine for one managed identity: serves an always-fresh MSI v2 mTLS credential
 * from memory, the store or IMDS, renews it in the background at its renewAt, and hands out a
 * key manager, an SSLContext and access tokens that follow every rotation.
 *
 * <p>{@link #get()} of a usable credential is one volatile read. Timers keep that snapshot honest:
 * one at renewAt starts a background renewal (callers keep getting the current credential), one at
 * notAfter withdraws it. Timers only hand acquisitions to a worker, so a slow renewal never delays
 * them. {@link ScheduledExecutorService} waits on the monotonic clock: no timer waits longer than
 * {@link #MAX_TIMER_WAIT} before re-checking the wall clock, and every {@link #CLOCK_CHECK_INTERVAL}
 * the cache compares how far the wall clock moved with how long its timers waited. A difference
 * (a suspended VM or laptop resumed, the clock was stepped) re-plans the schedule as
 * {@link #replan()} does: an expired credential or token is not served for longer than that interval.
 */
public final class MsiCredentialCache implements AutoCloseable {
    /** Generations kept answerable in the key manager for handshakes that started before a rotation. */
    private static final int KEPT_GENERATIONS = 3;
    /** The longest single timer wait; a timer that wakes before its instant re-arms against the wall clock. */
    static final Duration MAX_TIMER_WAIT = Duration.ofHours(1);
    /**
     * How often the wall clock is checked against the timers. A token's refresh timer and a renewal
     * may wait hours on the monotonic clock, which stands still while the machine sleeps: without the
     * check, a token or credential that expired during a suspend would be served until they fire.
     */
    static final Duration CLOCK_CHECK_INTERVAL = Duration.ofSeconds(5);
    /** More than this between the wall clock's move and the check's wait is a jump (the agent's threshold too). */
    static final Duration CLOCK_JUMP_THRESHOLD = Duration.ofSeconds(2);
    /** After a failed token refresh, how long callers keep the still-valid token before one asks again. */
    static final long TOKEN_REFRESH_RETRY_MILLIS = 30_000;
    /** The least time between two re-issues of a certificate because the token endpoint rejected one. */
    static final long REISSUE_INTERVAL_MILLIS = 5 * 60_000;

    private enum Mode {
        /** Nothing usable in memory: take a valid stored entry if any, else issue. */
        COLD,
        /** Renewal: take a stored entry only if it is fresh and not the one being replaced, else issue. */
        RENEW,
        /** Always issue a new certificate. */
        FORCE
    }

    /** One acquisition that concurrent callers share. */
    private static final class Flight {
        final Mode mode;
        final String replacingX5t;
        final boolean background;
        final Outcome result = new Outcome();
        /** Set by the flight's thread when it issued from IMDS rather than loaded from the store. */
        boolean issued;

        Flight(Mode mode, String replacingX5t, boolean background) {
            this.mode = mode;
            this.replacingX5t = replacingX5t;
            this.background = background;
        }
    }

    /**
     * A flight's result, set once and awaited by its callers. Not a CompletableFuture: that class
     * sets up the common ForkJoinPool when first used, ~4 ms of a fresh JVM's cold start.
     */
    private static final class Outcome {
        private final CountDownLatch done = new CountDownLatch(1);
        private Published value;
        private RuntimeException failure;

        synchronized void complete(Published p) {
            if (done.getCount() > 0) {
                value = p;
                done.countDown();
            }
        }

        synchronized void completeExceptionally(RuntimeException e) {
            if (done.getCount() > 0) {
                failure = e;
                done.countDown();
            }
        }

        boolean isDone() {
            return done.getCount() == 0;
        }

        /** True once set; false when {@code millis} passed first. */
        boolean awaitDone(long millis) throws InterruptedException {
            return done.await(millis, TimeUnit.MILLISECONDS);
        }

        /**
         * The published generation, or the flight's failure thrown. Like {@code Future.get}, a
         * finished outcome is returned even to an interrupted thread (await would throw first).
         */
        Published get() throws InterruptedException {
            if (!isDone()) {
                done.await();
            }
            synchronized (this) {
                if (failure != null) {
                    throw failure;
                }
                return value;
            }
        }
    }

    /**
     * A token and the certificate it is bound to. {@code boundX5t} is the very String instance of
     * the generation it was checked against, so the hot path compares references; a timer sets
     * {@code refreshDue} at half the token's life, so the hot path reads no clock.
     */
    private static final class CachedToken {
        final AccessToken token;
        final String boundX5t;
        final long refreshAtMillis;
        final long expiresAtMillis;
        volatile boolean refreshDue;
        /** After a failed refresh, callers keep this still-valid token without asking again until then. */
        volatile long retryRefreshAtMillis;
        /** Sets refreshDue; cancelled when the entry is replaced or dropped, or the cache closes. */
        volatile ScheduledFuture<?> refreshTimer;

        CachedToken(AccessToken token, String boundX5t, long refreshAtMillis, long expiresAtMillis) {
            this.token = token;
            this.boundX5t = boundX5t;
            this.refreshAtMillis = refreshAtMillis;
            this.expiresAtMillis = expiresAtMillis;
        }

        /** Bound to {@code p}'s certificate and not expired. */
        boolean validFor(Published p, long nowMillis) {
            return token.x5tS256().equals(p.x5tS256) && nowMillis < expiresAtMillis;
        }

        /** Not yet due for a refresh. */
        boolean fresh(long nowMillis) {
            return nowMillis < refreshAtMillis && !refreshDue;
        }
    }

    private final ManagedIdentityId identity;
    private final IdentitySelector selector;
    private final IssuerGateway issuer;
    private final CredentialStore store;
    /* Found on first use (keyProvider(), attestor()): the ServiceLoader scan is not needed to serve a stored credential. */
    private final KeyProvider configuredKeyProvider;
    private final KeyAttestor configuredAttestor;
    private final boolean attestorConfigured;
    private final KeyProtection minimumProtection;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private final boolean ownsExecutor;
    /**
     * Runs every acquisition. Timers only hand flights to it, so a slow one (a store lock wait,
     * IMDS retries) never delays the expiry, retry or token timers; foreground callers only wait
     * on it, so an interrupted caller fails alone.
     */
    private final Executor worker;
    private final boolean ownsWorker;
    private final RenewalPolicy policy;
    private final Duration lockWait;
    private final TokenType tokenTypeOverride;
    private final RotatingKeyManager keyManager;
    private final List<X509Certificate> trustedCertificates;
    /** Built on first use: a process that only reads its credential never loads the JVM's trust store. */
    private volatile CompositeTrustManager trustManager;
    private final TokenGateway tokenGatewayOverride;
    private final ListenerDelivery listeners = new ListenerDelivery();
    private final ConcurrentHashMap<String, CachedToken> popTokens = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CachedToken> bearerTokens = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ReentrantLock> tokenLocks = new ConcurrentHashMap<>();

    /** The usable snapshot, or null when nothing usable is in memory. The hot path reads only this. */
    private volatile Published current;
    /** The last few generations, newest last, for in-flight handshakes. */
    private volatile Published[] recent = new Published[0];
    private volatile SSLContext sslContext;
    private volatile GenerationTokenClient tokenClient;
    /** A key made in the background after a publish, so the next renewal does not wait for key generation. */
    private final AtomicReference<ManagedKey> spareKey = new AtomicReference<>();
    private final boolean prepareKeys;
    private final Duration listenerGrace;
    private final long clockCheckMillis;
    private final Duration tokenReadTimeout;

    private final Object stateLock = new Object();
    /*
     * What is built on first use is spelled out below rather than made of lazy suppliers: a lambda
     * costs a fresh JVM's cold start ~1 ms, the first one ~8 ms. Private locks: callers may lock the
     * cache object.
     */
    /** Guards the trust manager, the SSL context and the token client. */
    private final Object lazyInitLock = new Object();
    /** Guards the key provider and the attestor (finding them may probe hardware: no TLS set-up waits for it). */
    private final Object keySetupLock = new Object();
    // Guarded by keySetupLock:
    private KeyProvider keyProvider;
    private KeyAttestor attestor;
    private boolean attestorResolved;
    // Guarded by stateLock:
    private long generation;
    private Flight flight;
    private ScheduledFuture<?> renewTimer;
    private ScheduledFuture<?> expiryTimer;
    private ScheduledFuture<?> retryTimer;
    private ScheduledFuture<?> sessionSweep;
    /** The wall-clock check ({@link ClockCheck}), armed at the first publication: before it there is nothing to keep honest. */
    private ScheduledFuture<?> clockCheck;
    /** A renewal or retry timer fired while another flight ran: if that flight fails, retry. */
    private boolean renewalPending;
    private int failedAttempts;
    private Instant nextAttempt;
    private Throwable lastFailure;
    private String lastStoreProblem;
    private volatile boolean closed;
    /** close() has run (a refused timer sets only {@code closed}). */
    private boolean released;
    private RejectedExecutionException timerRefusal;
    /** When a rejected certificate was last re-issued (guarded by stateLock); MIN_VALUE: never. */
    private long lastReissueForRejectionMillis = Long.MIN_VALUE;
    /** The certificate a re-issue for a token endpoint's rejection was granted for, until the next flight settles (guarded by stateLock). */
    private String reissueGrantedFor;

    private MsiCredentialCache(Builder b) {
        this.identity = b.identity;
        this.selector = identity.selector();
        this.clock = b.clock;
        this.issuer = b.issuer != null ? b.issuer : IssuerGateway.of(b.imdsClient != null ? b.imdsClient : ImdsClient.builder().build());
        this.store = b.store != null ? b.store : defaultStore(b.persistence, clock);
        ColdStartWarmUp.start(store);
        this.configuredKeyProvider = b.keyProvider;
        this.configuredAttestor = b.attestor;
        this.attestorConfigured = b.attestorSet;
        this.minimumProtection = b.minimumProtection;
        this.ownsExecutor = b.executor == null;
        this.executor = b.executor != null ? b.executor : defaultExecutor();
        this.ownsWorker = b.worker == null;
        this.worker = b.worker != null ? b.worker : defaultWorker();
        this.policy = b.policy;
        this.lockWait = b.lockWait;
        this.tokenTypeOverride = b.tokenType;
        this.tokenGatewayOverride = b.tokenGateway;
        this.prepareKeys = b.prepareKeys;
        this.listenerGrace = b.listenerGrace;
        this.clockCheckMillis = b.clockCheckInterval.toMillis();
        this.tokenReadTimeout = b.tokenReadTimeout;
        this.keyManager = new RotatingKeyManager(this);
        this.trustedCertificates = List.copyOf(b.trustedCertificates);
    }

    public static Builder builder() {
        return new Builder();
    }

    public ManagedIdentityId identity() {
        return identity;
    }

    /** Where this identity's credential persists (a path, the Windows store, or {@code memory:...}). */
    public String storeLocation() {
        return store.location(identity);
    }

    // ---------------------------------------------------------------- serving

    /**
     * A valid credential: from memory (one volatile read), else from the store, else from IMDS.
     * Concurrent callers on a cold cache share one acquisition and its outcome.
     *
     * @throws IssuanceException IMDS failed
     * @throws CertificateValidationException IMDS returned something unusable
     * @throws KeyProtectionException the minimum key protection cannot be met
     * @throws AttestationException attestation was attempted and failed
     * @throws StoreException the store cannot be used
     * @throws CredentialUnavailableException anything else (closed, interrupted)
     */
    public MtlsCredential get() {
        Published p = current;
        if (p != null) {
            return p.credential;
        }
        return acquireBlocking().credential;
    }

    /**
     * A key manager that follows rotation; one generation per handshake. {@link #sslContext()} is
     * the context to use; in an {@code SSLContext} of your own, two things are yours to do:
     * <ul>
     *   <li>invalidate its client sessions at each rotation (from a {@link CredentialListener} on
     *       {@code RENEWED}, and once more a few seconds later, for handshakes that were in flight):
     *       JSSE resumes a cached session without asking the key manager, and a resumed connection
     *       goes on presenting the replaced certificate;</li>
     *   <li>wrap it with {@link CredentialTlsContext#wrap} (or keep TLS 1.3 off while
     *       {@link MtlsCredential#tlsRestriction()} is present): a credential whose key cannot sign
     *       RSA-PSS (many TPMs) fails every TLS 1.3 handshake.</li>
     * </ul>
     */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /** The trust used by {@link #sslContext()}: the JVM default plus the configured extra CAs. */
    public X509TrustManager trustManager() {
        CompositeTrustManager t = trustManager;
        if (t == null) {
            synchronized (lazyInitLock) {
                t = trustManager;
                if (t == null) {
                    t = CompositeTrustManager.create(trustedCertificates);
                    trustManager = t;
                }
            }
        }
        return t;
    }

    /**
     * A "TLS" context with {@link #keyManager()} and {@link #trustManager()}; built once. Each
     * socket and engine it creates offers TLS 1.3 only when the credential current at that moment
     * (acquired first when there is none yet, as its handshake would) can authenticate over it,
     * else TLS 1.2 only: {@link CredentialTlsContext}.
     */
    public SSLContext sslContext() {
        SSLContext ctx = sslContext;
        if (ctx == null) {
            synchronized (lazyInitLock) {
                ctx = sslContext;
                if (ctx == null) {
                    ctx = newSslContext();
                    sslContext = ctx;
                }
            }
        }
        return ctx;
    }

    private SSLContext newSslContext() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {keyManager}, new TrustManager[] {trustManager()}, null);
            return CredentialTlsContext.following(this, ctx);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create a TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * An access token for {@code resource}, bound to the current certificate. Token type: the
     * builder's preference, else {@code MTLS_POP} for attested credentials and {@code BEARER}
     * (over mTLS) otherwise. Cached per resource and certificate; refreshed at half its lifetime.
     * Never a token for a certificate already replaced.
     *
     * @throws TokenAcquisitionException the token endpoint refused (after one re-issue where that can help)
     * @throws CredentialUnavailableException no credential, or it was replaced during every attempt
     *     (see {@link #get()} for the errors of acquiring the credential itself)
     */
    public AccessToken acquireToken(String resource) {
        return cachedTokenOrAcquire(resource, null);
    }

    /** {@link #acquireToken(String)} with an explicit token type. */
    public AccessToken acquireToken(String resource, TokenType tokenType) {
        return cachedTokenOrAcquire(resource, Objects.requireNonNull(tokenType, "tokenType"));
    }

    /** The cached path allocates nothing: one volatile read, a map lookup, a reference comparison. */
    private AccessToken cachedTokenOrAcquire(String resource, TokenType explicitType) {
        Published p = current;
        if (p != null) {
            TokenType type = explicitType != null ? explicitType : tokenTypeOverride != null ? tokenTypeOverride : p.defaultTokenType;
            CachedToken t = (type == TokenType.MTLS_POP ? popTokens : bearerTokens).get(resource);
            if (t != null && t.boundX5t == p.x5tS256 && !t.refreshDue) {
                return t.token;
            }
        }
        return acquireTokenSlow(resource, explicitType);
    }

    /** The current state and why, from memory or the store; never touches the network. */
    public CredentialStatus status() {
        Instant now = clock.instant();
        Published p = current;
        List<String> reasons = new ArrayList<>();
        Throwable failure;
        Instant next;
        String storeProblem;
        synchronized (stateLock) {
            failure = lastFailure;
            next = nextAttempt;
            storeProblem = lastStoreProblem;
        }
        if (p != null) {
            MtlsCredential c = p.credential;
            CredentialState state = c.stateAt(now);
            describe(c, state, now, reasons);
            if (failure != null) {
                reasons.add("last renewal attempt failed: " + failure.getMessage());
            }
            if (storeProblem != null) {
                reasons.add("not persisted: " + storeProblem);
            }
            return new CredentialStatus(state, c, "memory", reasons, next != null ? next : (state == CredentialState.FRESH ? c.renewAt() : null));
        }
        String location = store.location(identity);
        LoadResult r;
        try {
            r = store.inspect(identity);
        } catch (StoreException e) {
            reasons.add(e.getMessage());
            return new CredentialStatus(CredentialState.INVALID, null, location, reasons, next);
        }
        if (failure != null) {
            reasons.add("last acquisition failed: " + failure.getMessage());
        }
        switch (r.kind()) {
            case FOUND: {
                MtlsCredential c = r.credential().orElseThrow();
                CredentialState state = c.stateAt(now);
                describe(c, state, now, reasons);
                return new CredentialStatus(state, c, location, reasons, next);
            }
            case INVALID:
                reasons.add(0, r.problem());
                return new CredentialStatus(CredentialState.INVALID, null, location, reasons, next);
            default:
                reasons.add(0, r.problem() != null ? r.problem() : "no credential stored at " + location);
                return new CredentialStatus(CredentialState.MISSING, null, location, reasons, next);
        }
    }

    private static void describe(MtlsCredential c, CredentialState state, Instant now, List<String> reasons) {
        switch (state) {
            case FRESH:
                reasons.add("valid until " + c.notAfter() + "; renewal due at " + c.renewAt());
                break;
            case RENEW_DUE:
                reasons.add("renewal due since " + c.renewAt() + "; valid until " + c.notAfter());
                break;
            default:
                reasons.add("expired at " + c.notAfter() + " (now " + now + ")");
        }
    }

    /**
     * Renews now, even if the credential is fresh (the CLI's {@code renew}); returns the new
     * credential. A failure keeps the current credential in service and is thrown.
     */
    public MtlsCredential refresh() {
        for (int round = 0; round < 2; round++) {
            Flight f;
            boolean leader = false;
            synchronized (stateLock) {
                checkOpen();
                if (flight == null) {
                    flight = new Flight(Mode.FORCE, null, false);
                    leader = true;
                }
                f = flight;
            }
            if (leader) {
                launch(f);
                return await(f).credential;
            }
            Published joined = awaitQuietly(f);
            if (f.mode != Mode.COLD && joined != null) {
                return joined.credential;
            }
        }
        throw new CredentialUnavailableException("renewal of " + identity + " kept being overtaken by other acquisitions; retry", null);
    }

    public void addListener(CredentialListener listener) {
        listeners.add(listener);
    }

    public void removeListener(CredentialListener listener) {
        listeners.remove(listener);
    }

    /**
     * Re-checks the schedule against the wall clock: withdraws a credential that expired while the
     * timers slept (a suspended VM), starts a renewal that is due, re-arms the timers, and marks
     * cached tokens past their refresh time for refresh. Cheap. The cache does it itself within
     * {@link #CLOCK_CHECK_INTERVAL} of a clock jump; call it to re-plan at once (the agent does when it
     * notices one, and an application can on its own resume signal).
     */
    public void replan() {
        long nowMillis = clock.millis();
        for (CachedToken t : popTokens.values()) {
            if (nowMillis >= t.refreshAtMillis) {
                t.refreshDue = true;
            }
        }
        for (CachedToken t : bearerTokens.values()) {
            if (nowMillis >= t.refreshAtMillis) {
                t.refreshDue = true;
            }
        }
        Published p;
        boolean retry;
        synchronized (stateLock) {
            if (closed || current == null) {
                return;
            }
            p = current;
            Instant now = clock.instant();
            if (now.isBefore(p.credential.notAfter())) {
                cancelTimers();
                scheduleTimers(p);
                return;
            }
            retry = withdrawExpired(p, now);
        }
        reportExpiry(p, retry);
    }

    /**
     * Stops the timers (and the executor when the cache made it) and withdraws the snapshot: later
     * calls fail with {@link CredentialUnavailableException}, and so do callers still waiting for an
     * acquisition, at once (the acquisition itself finishes in the background and publishes nothing).
     * Credentials already handed out stay valid objects.
     */
    @Override
    public void close() {
        Flight running;
        synchronized (stateLock) {
            // Not `closed`: a refused timer closes the cache too, and its spare key and worker are still to be released.
            if (released) {
                return;
            }
            released = true;
            closed = true;
            current = null;
            running = flight;
            cancelTimers();
            if (retryTimer != null) {
                retryTimer.cancel(false);
            }
            if (sessionSweep != null) {
                sessionSweep.cancel(false);
            }
            if (clockCheck != null) {
                clockCheck.cancel(false);
            }
        }
        if (running != null) {
            // Its IMDS call may take until its deadline; nothing it brings back would be published.
            running.result.completeExceptionally(new CredentialUnavailableException("the credential cache for " + identity + " is closed", null));
        }
        if (ownsExecutor) {
            executor.shutdownNow();
        }
        if (ownsWorker) {
            // Not shutdownNow: a running flight finishes (and releases the store lock) but publishes nothing.
            ((ExecutorService) worker).shutdown();
        }
        ManagedKey spare = spareKey.getAndSet(null);
        if (spare != null) {
            spare.discard();
        }
        dropTokensNotBoundTo(null);
    }

    // ---------------------------------------------------------------- for the key manager

    Published currentPublished() {
        return current;
    }

    /** The current generation, acquiring one if needed; null (no client certificate) when that fails. */
    Published currentOrAcquire() {
        Published p = current;
        if (p != null) {
            return p;
        }
        try {
            return acquireBlocking();
        } catch (MsiCredentialException e) {
            log().warn("No client certificate for a TLS handshake: {}", e.getMessage());
            return null;
        }
    }

    /** The generation named by {@code alias}, if it is current or among the last few. */
    Published publishedFor(String alias) {
        Published p = current;
        if (p != null && p.alias.equals(alias)) {
            return p;
        }
        Published[] kept = recent;
        for (int i = kept.length - 1; i >= 0; i--) {
            if (kept[i].alias.equals(alias)) {
                return kept[i];
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- single flight

    private Published acquireBlocking() {
        Flight f;
        boolean leader = false;
        synchronized (stateLock) {
            checkOpen();
            Published p = current;
            if (p != null) {
                return p;
            }
            if (flight == null) {
                flight = new Flight(Mode.COLD, null, false);
                leader = true;
            }
            f = flight;
        }
        if (leader) {
            launch(f);
        }
        return await(f);
    }

    /** Renews in place of the credential with {@code badX5t} (rejected by the token endpoint), sharing any running flight. */
    private Published renewReplacing(String badX5t) {
        Flight f;
        boolean leader = false;
        synchronized (stateLock) {
            checkOpen();
            Published p = current;
            if (p != null && !p.x5tS256.equals(badX5t)) {
                return p;
            }
            if (flight == null) {
                flight = new Flight(Mode.RENEW, badX5t, false);
                leader = true;
            }
            f = flight;
        }
        if (leader) {
            launch(f);
        }
        return await(f);
    }

    private void startBackgroundRenewal(Published due) {
        synchronized (stateLock) {
            if (closed || current != due) {
                return;
            }
            Instant now = clock.instant();
            if (now.isBefore(due.credential.renewAt())) {
                // A capped hop of a long wait, or the wall clock was set back: wait again.
                renewTimer = schedule(new RenewalTimer(due), delayUntil(due.credential.renewAt(), now));
                return;
            }
        }
        renewInBackground(due);
    }

    /**
     * Renews in place of {@code p} (due, or a stored credential the JDK refused), which stays current
     * until its successor is published; a failure retries in the background. While another flight
     * runs, its outcome decides (and its failure retries).
     */
    private void renewInBackground(Published p) {
        Flight f;
        synchronized (stateLock) {
            if (closed || current != p) {
                return;
            }
            if (flight != null) {
                renewalPending = true;
                return;
            }
            f = new Flight(Mode.RENEW, p.x5tS256, true);
            flight = f;
        }
        launch(f);
    }

    /** A retry after failed background attempts; after expiry it acquires from scratch. */
    private void retryInBackground() {
        Flight f;
        synchronized (stateLock) {
            retryTimer = null;
            if (closed) {
                return;
            }
            if (flight != null) {
                renewalPending = true;
                return;
            }
            Published p = current;
            f = p == null ? new Flight(Mode.COLD, null, true) : new Flight(Mode.RENEW, p.x5tS256, true);
            flight = f;
        }
        launch(f);
    }

    /** Hands {@code f} to the worker; a refusing worker fails the flight (and its waiters) at once. */
    private void launch(Flight f) {
        try {
            worker.execute(new FlightRun(f));
        } catch (RejectedExecutionException e) {
            finish(f, null, new CredentialUnavailableException("the acquisition worker of the credential cache for " + identity
                    + " refused the acquisition (shut down?)", e));
        }
    }

    private void runFlight(Flight f) {
        MtlsCredential acquired = null;
        RuntimeException failure = null;
        try {
            acquired = acquire(f);
        } catch (MsiCredentialException e) {
            failure = e;
        } catch (RuntimeException e) {
            // A step not wrapped by step(): still a typed error for get()'s callers.
            failure = new CredentialUnavailableException("acquisition of " + identity + " failed unexpectedly: " + e, e);
        } catch (Error e) {
            failure = new CredentialUnavailableException("acquisition of " + identity + " failed: " + e, e);
            finish(f, null, failure);
            throw e;
        }
        finish(f, acquired, failure);
    }

    private void finish(Flight f, MtlsCredential acquired, RuntimeException failure) {
        try {
            settle(f, acquired, failure);
        } finally {
            // Whatever went wrong above, no waiter may hang.
            if (!f.result.isDone()) {
                f.result.completeExceptionally(new CredentialUnavailableException("acquisition of " + identity
                        + " ended without a result", failure));
            }
        }
    }

    private void settle(Flight f, MtlsCredential acquired, RuntimeException failure) {
        Published published = null;
        boolean retry;
        Published decidedOn;
        synchronized (stateLock) {
            flight = null;
            // The flight the grantee started or joined (its own, a timer's renewal, a refresh()) is over,
            // whatever it replaced: a later rejection of the same certificate counts against the limit anew.
            reissueGrantedFor = null;
            Published p = current;
            decidedOn = p;
            retry = f.background || renewalPending || (p != null && !clock.instant().isBefore(p.credential.renewAt()));
            renewalPending = false;
            if (acquired != null && !closed) {
                published = publish(acquired);
                if (closed) {
                    // The executor refused the new snapshot's timers.
                    published = null;
                    failure = new CredentialUnavailableException("the executor of the credential cache for " + identity
                            + " refused a timer (shut down by its owner?); the cache is closed", timerRefusal);
                }
            }
            if (published != null) {
                Published done = published;
                // The waiting callers are released once the listeners were told (see ListenerDelivery).
                listeners.queue(new CredentialEvent(done.credential.generation() == 1 ? CredentialEvent.Type.ACQUIRED
                        : CredentialEvent.Type.RENEWED, clock.instant(), done.credential, null, null), new Release(f.result, done));
            } else {
                if (failure == null) {
                    failure = new CredentialUnavailableException("the cache for " + identity + " was closed", null);
                }
                lastFailure = failure;
            }
        }
        if (published != null) {
            invalidateTlsSessions(null);
            scheduleSessionSweep(published);
            dropTokensNotBoundTo(published.x5tS256);
            // Listeners before waiters: a caller whose get() returns this credential finds every
            // listener already told (the agent's store watch relies on it). When another thread is
            // delivering earlier events, its listeners may wait for anything: the callers wait for
            // them only so long.
            try {
                listeners.deliver();
                listeners.releaseIfListenerWaits();
                if (!f.result.awaitDone(listenerGrace.toMillis())) {
                    log().warn("Listeners of {} still busy after {} with an earlier event; releasing the callers waiting for {}",
                            identity, listenerGrace, published.x5tS256);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                f.result.complete(published);
            }
            if (f.issued) {
                prepareSpareKey();
            } else {
                // A stored credential is served before its key and certificate become JDK objects (the JCA's
                // start-up is no part of a cold start): decode them now, so the first handshake finds them ready.
                try {
                    published.credential.decode();
                } catch (CredentialUnavailableException e) {
                    log().error("Stored credential {} of {} cannot be used; replacing it: {}", published.x5tS256, identity, e.getMessage());
                    renewInBackground(published);
                }
                prepareSpareKeyLater(published.credential);
            }
            // Logged after the waiters were released: a cold get() does not wait for the logger to start.
            log().info("Published {} {} (x5t#S256 {}, notAfter {}, renewAt {})", published.alias,
                    f.issued ? "issued by IMDS" : "from the store", published.x5tS256, published.credential.notAfter(),
                    published.credential.renewAt());
            return;
        }
        f.result.completeExceptionally(failure);
        if (retry) {
            scheduleRetry(failure, decidedOn);
        } else {
            log().warn("Acquisition for {} failed: {}", identity, failure.getMessage());
        }
    }

    /** How long callers of an acquisition wait for listeners that another thread is running. */
    static final Duration LISTENER_GRACE = Duration.ofSeconds(2);

    /** Longer than a loopback or LAN TLS handshake takes, even on a loaded machine. */
    static final Duration SESSION_SWEEP_DELAY = Duration.ofSeconds(5);

    /**
     * Arms the next attempt after a failure (or an expiry) decided on while {@code decidedOn} was
     * the snapshot. The decision is made under {@code stateLock}, but listeners are told and logs
     * written before this runs; if another thread published a successor meanwhile, a retry armed now
     * would replace that fresh credential (an extra issuance) and cancel its renewal timer.
     */
    private void scheduleRetry(Throwable failure, Published decidedOn) {
        Instant now = clock.instant();
        Published p;
        Instant at;
        synchronized (stateLock) {
            if (closed || current != decidedOn) {
                return; // closed, or a successor was published: it has its own timers
            }
            p = current;
            Duration remaining = p == null ? Duration.ZERO : Duration.between(now, p.credential.notAfter());
            Duration delay = policy.retryDelay(++failedAttempts, remaining);
            at = now.plus(delay);
            nextAttempt = at;
            if (flight != null) {
                // An acquisition started meanwhile: its outcome decides, and its failure retries.
                renewalPending = true;
            } else {
                if (retryTimer != null) {
                    retryTimer.cancel(false);
                }
                retryTimer = schedule(this::retryInBackground, delay.toMillis());
                if (closed) {
                    return;
                }
                // The retry is the next attempt: a renew timer still armed would add an extra one.
                if (renewTimer != null) {
                    renewTimer.cancel(false);
                    renewTimer = null;
                }
            }
            if (failure != null) {
                listeners.queue(new CredentialEvent(CredentialEvent.Type.RENEWAL_FAILED, now, p != null ? p.credential : null, failure, at));
            }
        }
        if (failure != null) {
            log().warn("Renewal of {} failed (attempt {}), next attempt at {}: {}", identity, failedAttempts, at, failure.getMessage());
            listeners.deliver();
        }
    }

    private Published await(Flight f) {
        // A listener waiting here (on the thread delivering events) lets the flight release its callers
        // before the remaining listeners hear of it; they could not be told while this thread waits.
        boolean listenerWaits = !f.result.isDone() && listeners.blockingBegins();
        try {
            return f.result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CredentialUnavailableException("interrupted while waiting for the credential of " + identity, e);
        } finally {
            if (listenerWaits) {
                listeners.blockingEnds();
            }
        }
    }

    private Published awaitQuietly(Flight f) {
        try {
            return await(f);
        } catch (MsiCredentialException e) {
            return null;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new CredentialUnavailableException("the credential cache for " + identity + " is closed", null);
        }
    }

    // ---------------------------------------------------------------- publishing and timers

    /** Makes {@code c} the current generation and arms its timers. Caller holds stateLock. */
    private Published publish(MtlsCredential c) {
        Published p = new Published(c.withGeneration(++generation));
        Published[] old = recent;
        int keep = Math.min(old.length, KEPT_GENERATIONS - 1);
        Published[] kept = new Published[keep + 1];
        System.arraycopy(old, old.length - keep, kept, 0, keep);
        kept[keep] = p;
        recent = kept;
        current = p;
        failedAttempts = 0;
        nextAttempt = null;
        lastFailure = null;
        cancelTimers();
        if (retryTimer != null) {
            retryTimer.cancel(false);
            retryTimer = null;
        }
        scheduleTimers(p);
        if (clockCheck == null) {
            // Armed before anyone can see the credential: a suspend at any later moment is noticed.
            scheduleClockCheck();
        }
        return p;
    }

    /** Caller holds stateLock. */
    private void scheduleClockCheck() {
        clockCheck = schedule(new ClockCheck(clock.millis()), clockCheckMillis);
    }

    /**
     * The timers wait on the executor's clock (monotonic, standing still in a suspend); this check
     * measures how far the wall clock moved while it waited. Measured against its own wait rather
     * than System.nanoTime, it agrees with any executor, a test's virtual one included.
     */
    private final class ClockCheck implements Runnable {
        private final long armedAtMillis;

        ClockCheck(long armedAtMillis) {
            this.armedAtMillis = armedAtMillis;
        }

        @Override
        public void run() {
            long jumpMillis = clock.millis() - armedAtMillis - clockCheckMillis;
            try {
                if (Math.abs(jumpMillis) > CLOCK_JUMP_THRESHOLD.toMillis()) {
                    log().info("The wall clock moved {} ms more than the timers of {} waited (a suspend, or a clock step): re-planning",
                            jumpMillis, identity);
                    replan();
                }
            } finally {
                synchronized (stateLock) {
                    if (!closed) {
                        scheduleClockCheck();
                    }
                }
            }
        }
    }

    /**
     * Caller holds stateLock. While a backed-off retry is pending it is the next attempt: no renew
     * timer then, or a re-arm (replan, an early expiry wake-up) would start an extra one at once.
     */
    private void scheduleTimers(Published p) {
        Instant now = clock.instant();
        expiryTimer = schedule(new ExpiryTimer(p), delayUntil(p.credential.notAfter(), now));
        if (retryTimer == null) {
            renewTimer = schedule(new RenewalTimer(p), delayUntil(p.credential.renewAt(), now));
        }
    }

    /**
     * Milliseconds from {@code now} until {@code at}, rounded up (a timer never fires before its
     * instant) and capped at {@link #MAX_TIMER_WAIT}: the executor waits on the monotonic clock, so
     * a long wait (a 30-day certificate) is split into hops that each re-check the wall clock.
     */
    private static long delayUntil(Instant at, Instant now) {
        Duration d = Duration.between(now, at);
        if (d.isNegative() || d.isZero()) {
            return 0;
        }
        long millis = d.toMillis() + (d.getNano() % 1_000_000 == 0 ? 0 : 1);
        return Math.min(millis, MAX_TIMER_WAIT.toMillis());
    }

    /**
     * Caller holds stateLock. An executor that refuses a timer (its owner shut it down) closes the
     * cache: nothing could keep a snapshot honest any more. Returns null then.
     */
    private ScheduledFuture<?> schedule(Runnable task, long delayMillis) {
        if (closed) {
            return null;
        }
        try {
            return executor.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            log().warn("The executor of the credential cache for {} refused a timer (shut down?); closing the cache", identity);
            timerRefusal = e;
            closed = true;
            current = null;
            cancelTimers();
            return null;
        }
    }

    /** Caller holds stateLock. */
    private void cancelTimers() {
        if (renewTimer != null) {
            renewTimer.cancel(false);
            renewTimer = null;
        }
        if (expiryTimer != null) {
            expiryTimer.cancel(false);
            expiryTimer = null;
        }
    }

    private void expire(Published p) {
        boolean retry;
        synchronized (stateLock) {
            if (current != p) {
                return;
            }
            Instant now = clock.instant();
            if (now.isBefore(p.credential.notAfter())) {
                // A capped hop of a long wait, or the wall clock was set back: wait again.
                expiryTimer = schedule(new ExpiryTimer(p), delayUntil(p.credential.notAfter(), now));
                return;
            }
            retry = withdrawExpired(p, now);
        }
        reportExpiry(p, retry);
    }

    /**
     * Caller holds stateLock: withdraws the expired snapshot {@code p} and queues its event. True when
     * a retry is to be armed: not while an acquisition runs (its outcome decides, and its failure
     * retries) nor while a retry is pending (it is the next attempt); arming one then would count a
     * failure that did not happen and lengthen the back-off.
     */
    private boolean withdrawExpired(Published p, Instant now) {
        current = null;
        cancelTimers();
        listeners.queue(new CredentialEvent(CredentialEvent.Type.EXPIRED, now, p.credential, null, null));
        if (flight != null) {
            renewalPending = true;
            return false;
        }
        return retryTimer == null;
    }

    private void reportExpiry(Published p, boolean retry) {
        log().warn("Credential {} of {} expired at {} without a successor", p.alias, identity, p.credential.notAfter());
        try {
            listeners.deliver();
        } finally {
            if (retry) {
                scheduleRetry(null, null); // after the listeners (one may have acquired a successor), and whatever they threw
            }
        }
    }

    // ---------------------------------------------------------------- one acquisition

    private MtlsCredential acquire(Flight f) {
        Mode mode = f.mode;
        String replacingX5t = f.replacingX5t;
        // A usable stored credential is served without the store's lock, where the store can peek: its
        // writes are atomic (a reader sees one whole entry), and the lock guards "re-read, then issue"
        // (invariant 3). So a start does not wait behind another process's renewal, or a hung lock
        // holder, for a credential that is on disk already; and a cold start saves the lock's cost.
        MtlsCredential onDisk = peekUsable(mode, replacingX5t, clock.instant());
        if (onDisk != null) {
            return onDisk;
        }
        StoreLock lock;
        try {
            try {
                lock = store.lock(identity, lockWait);
            } catch (RuntimeException e) {
                throw stepFailure("locking the store at " + store.location(identity), e);
            }
        } catch (StoreException e) {
            // Another process holds the lock, presumably issuing: its result may already be stored.
            MtlsCredential stored;
            try {
                stored = usableFromStore(mode, replacingX5t, clock.instant());
            } catch (RuntimeException readFailed) {
                e.addSuppressed(readFailed); // the lock timeout stays the error; the failed read rides along
                throw e;
            }
            if (stored != null) {
                return stored;
            }
            throw e;
        }
        try (lock) {
            MtlsCredential stored = usableFromStore(mode, replacingX5t, clock.instant());
            if (stored != null) {
                return stored;
            }
            MtlsCredential issued = issue();
            f.issued = true;
            try {
                step("saving to the store at " + store.location(identity), () -> {
                    store.save(issued);
                    return null;
                });
                synchronized (stateLock) {
                    lastStoreProblem = null;
                }
            } catch (StoreException e) {
                // The certificate is valid: serve it from memory rather than waste it, and say so.
                log().warn("Issued credential {} of {} could not be persisted: {}", issued.x5tS256(), identity, e.getMessage());
                synchronized (stateLock) {
                    lastStoreProblem = e.getMessage();
                }
            }
            return issued;
        }
    }

    /** What the store can serve without its lock and without quarantining anything, if this flight may use it; else null, quietly. */
    private MtlsCredential peekUsable(Mode mode, String replacingX5t, Instant now) {
        if (mode == Mode.FORCE) {
            return null;
        }
        Optional<MtlsCredential> peeked;
        try {
            peeked = store.peek(identity);
        } catch (RuntimeException e) {
            throw stepFailure("reading the store at " + store.location(identity), e);
        }
        MtlsCredential c = peeked.isPresent() ? withPlausibleRenewAt(peeked.get()) : null;
        return c != null && usable(c, mode, replacingX5t, now) && c.keyProtection().isAtLeast(minimumProtection) ? c : null;
    }

    /**
     * A stored renewAt outside the certificate's validity window (a damaged or hand-edited entry)
     * would plan no renewal before expiry, or renew at once for ever: the policy plans it again.
     */
    private MtlsCredential withPlausibleRenewAt(MtlsCredential c) {
        if (!c.renewAt().isBefore(c.notBefore()) && c.renewAt().isBefore(c.notAfter())) {
            return c;
        }
        Instant renewAt = policy.renewAt(c.notBefore(), c.notAfter());
        log().warn("Stored credential {} of {} has renewAt {} outside its validity ({} .. {}); planning it at {} instead",
                c.x5tS256(), identity, c.renewAt(), c.notBefore(), c.notAfter(), renewAt);
        return c.toBuilder().renewAt(renewAt).build();
    }

    private static boolean usable(MtlsCredential c, Mode mode, String replacingX5t, Instant now) {
        return now.isBefore(c.notAfter()) && !c.x5tS256().equals(replacingX5t) && (mode != Mode.RENEW || now.isBefore(c.renewAt()));
    }

    private MtlsCredential usableFromStore(Mode mode, String replacingX5t, Instant now) {
        if (mode == Mode.FORCE) {
            return null;
        }
        LoadResult r;
        try {
            r = store.load(identity);
        } catch (RuntimeException e) {
            throw stepFailure("reading the store at " + store.location(identity), e);
        }
        if (r.kind() != LoadResult.Kind.FOUND) {
            if (r.problem() != null) {
                log().warn("Stored credential of {} is not usable: {}", identity, r.problem());
            }
            return null;
        }
        MtlsCredential c = withPlausibleRenewAt(r.credential().orElseThrow());
        if (!usable(c, mode, replacingX5t, now)) {
            return null;
        }
        if (!c.keyProtection().isAtLeast(minimumProtection)) {
            log().info("Stored credential {} of {} has {} key protection, below the required {}; not using it", c.x5tS256(), identity,
                    c.keyProtection(), minimumProtection);
            return null;
        }
        return c;
    }

    private MtlsCredential issue() {
        PlatformMetadata metadata;
        try {
            metadata = step("getplatformmetadata", () -> issuer.platformMetadata(selector));
        } catch (ImdsException e) {
            throw new IssuanceException("getplatformmetadata", e);
        }
        ManagedKey key = createKey();
        boolean used = false;
        try {
            String attestation = attest(key, metadata);
            byte[] csr = step("building the CSR for key " + key.keyId(), () -> CsrBuilder.build(key, metadata));
            IssuedCredential issued;
            try {
                issued = step("issuecredential", () -> issuer.issueCredential(selector, csr, attestation));
            } catch (ImdsException e) {
                throw new IssuanceException("issuecredential", e);
            }
            Instant now = clock.instant();
            X509Certificate cert = IssuedCertificateValidator.validate(issued, key, now);
            Instant notBefore = cert.getNotBefore().toInstant();
            Instant notAfter = cert.getNotAfter().toInstant();
            Instant renewAt = policy.renewAt(notBefore, notAfter);
            if (renewAt.isBefore(now)) {
                // Issued with a back-dated notBefore: count the share from now, or we would renew at once.
                renewAt = policy.renewAt(now, notAfter);
            }
            MtlsCredential c = MtlsCredential.builder()
                    .identity(identity)
                    .chain(List.of(cert))
                    .privateKey(key.privateKey())
                    .clientId(issued.clientId())
                    .tenantId(issued.tenantId())
                    .tokenEndpoint(issued.tokenEndpoint())
                    .renewAt(renewAt)
                    .keyProtection(key.protection())
                    .attested(attestation != null)
                    .build();
            used = true;
            log().info("IMDS issued {} for {} (key {}, {}, notAfter {})", c.x5tS256(), identity, key.keyId(), key.protection(), notAfter);
            return c;
        } finally {
            if (!used) {
                key.discard();
            }
        }
    }

    /**
     * Runs one step of an acquisition; an unexpected runtime exception (IllegalStateException,
     * UncheckedIOException...) becomes a typed {@link CredentialUnavailableException} naming the step.
     * Typed errors and ImdsException (which the callers map to IssuanceException) pass through.
     */
    private static <T> T step(String what, java.util.function.Supplier<T> action) {
        try {
            return action.get();
        } catch (RuntimeException e) {
            throw stepFailure(what, e);
        }
    }

    /** {@code e} itself when typed already, else a typed error that names the step. */
    private static RuntimeException stepFailure(String what, RuntimeException e) {
        if (e instanceof MsiCredentialException || e instanceof ImdsException) {
            return e;
        }
        return new CredentialUnavailableException(what + " failed: " + e, e);
    }

    /** How long a credential loaded from the store waits before its spare key is made (at most). */
    static final Duration SPARE_KEY_DELAY_AFTER_LOAD = Duration.ofSeconds(30);

    /*
     * A credential loaded from the store usually means the process has just started: making an RSA
     * key now would compete with the application's own start-up (and its first token) for the CPU,
     * while the key is needed only at renewAt. Half-way to renewAt at the latest, for short lifetimes.
     */
    private void prepareSpareKeyLater(MtlsCredential loaded) {
        if (!prepareKeys) {
            return;
        }
        Duration untilRenewal = Duration.between(clock.instant(), loaded.renewAt());
        long delay = Math.max(0, Math.min(SPARE_KEY_DELAY_AFTER_LOAD.toMillis(), untilRenewal.toMillis() / 2));
        try {
            executor.schedule(this::prepareSpareKey, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            log().debug("Executor refused key preparation: {}", e.getMessage());
        }
    }

    private void prepareSpareKey() {
        if (!prepareKeys || spareKey.get() != null) {
            return;
        }
        try {
            worker.execute(() -> {
                if (closed || spareKey.get() != null) {
                    return;
                }
                try {
                    ManagedKey key = keyProvider().create(minimumProtection);
                    if (!key.protection().isAtLeast(minimumProtection) || !spareKey.compareAndSet(null, key)) {
                        key.discard();
                    } else if (closed && spareKey.compareAndSet(key, null)) {
                        key.discard();
                    }
                } catch (RuntimeException e) {
                    log().debug("Preparing the next key failed; the next renewal makes its own: {}", e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            log().debug("Worker refused key preparation: {}", e.getMessage());
        }
    }

    private KeyProvider keyProvider() {
        synchronized (keySetupLock) {
            if (keyProvider == null) {
                keyProvider = configuredKeyProvider != null ? configuredKeyProvider : PlatformDefaults.keyProvider();
            }
            return keyProvider;
        }
    }

    /** Null when there is none: no attestation then. */
    private KeyAttestor attestor() {
        synchronized (keySetupLock) {
            if (!attestorResolved) {
                attestor = attestorConfigured ? configuredAttestor : PlatformDefaults.keyAttestor().orElse(null);
                attestorResolved = true;
            }
            return attestor;
        }
    }

    private ManagedKey createKey() {
        ManagedKey spare = spareKey.getAndSet(null);
        if (spare != null) {
            return spare;
        }
        KeyProvider provider;
        ManagedKey key;
        try {
            provider = keyProvider();
        } catch (MsiCredentialException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CredentialUnavailableException("no key provider could be set up: " + e.getMessage(), e);
        }
        try {
            key = provider.create(minimumProtection);
        } catch (MsiCredentialException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CredentialUnavailableException("key provider '" + provider.name() + "' could not create an RSA-2048 key: "
                    + e.getMessage(), e);
        }
        if (!key.protection().isAtLeast(minimumProtection)) {
            key.discard();
            throw new KeyProtectionException(minimumProtection, key.protection(), "key provider '" + provider.name() + "'", null);
        }
        return key;
    }

    private String attest(ManagedKey key, PlatformMetadata metadata) {
        KeyAttestor attestor = attestor();
        if (attestor == null) {
            return null;
        }
        try {
            return attestor.attest(key, metadata.attestationEndpoint(), metadata.clientId()).orElse(null);
        } catch (MsiCredentialException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new AttestationException("attestation of key " + key.keyId() + " by '" + attestor.name() + "' at "
                    + metadata.attestationEndpoint() + " failed: " + e.getMessage()
                    + ". The request was not downgraded to an unattested one; check the attestation service.", e);
        }
    }

    // ---------------------------------------------------------------- tokens

    private AccessToken acquireTokenSlow(String resource, TokenType explicitType) {
        Objects.requireNonNull(resource, "resource");
        MtlsCredential c = get();
        TokenType type = explicitType != null ? explicitType
                : tokenTypeOverride != null ? tokenTypeOverride : (c.attested() ? TokenType.MTLS_POP : TokenType.BEARER);
        ConcurrentHashMap<String, CachedToken> tokens = type == TokenType.MTLS_POP ? popTokens : bearerTokens;
        ReentrantLock lock = tokenLocks.computeIfAbsent(type.wireName() + " " + resource, k -> new ReentrantLock());
        boolean reissued = false;
        // Rounds: a rotation during the request yields a token for the old certificate (one more
        // round), and a certificate the endpoint rejects is re-issued once (one more); a third round
        // that still ends with a replaced certificate is an error, never a stale token.
        for (int round = 0; ; round++) {
            // Waits for a credential happen outside the token lock: a listener told of a new credential
            // (on the worker, before the waiting callers are released) may ask for this very token.
            Published p = current; // one read: a timer may null it between two
            if (p == null) {
                p = acquireBlocking();
            }
            CachedToken cached = tokens.get(resource);
            long now = clock.millis();
            if (cached != null && cached.validFor(p, now)) {
                if (cached.fresh(now)) {
                    if (cached.boundX5t != p.x5tS256) {
                        cacheToken(tokens, resource, cached.token, p, now);
                    }
                    return cached.token;
                }
                // Due for refresh but still valid: one caller refreshes while the others keep the
                // token, and so does everyone for a while after a refresh failed.
                if (now < cached.retryRefreshAtMillis || !lock.tryLock()) {
                    return cached.token;
                }
            } else if (!lock.tryLock()) {
                // A listener waiting here lets later acquisitions release their callers: this wait may be for one of them.
                boolean listenerWaits = listeners.blockingBegins();
                try {
                    lock.lockInterruptibly();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CredentialUnavailableException("interrupted while waiting for the token request for " + resource, e);
                } finally {
                    if (listenerWaits) {
                        listeners.blockingEnds();
                    }
                }
            }
            String rejected = null;
            try {
                cached = tokens.get(resource); // another caller may have refreshed it while this one waited
                now = clock.millis();
                boolean valid = cached != null && cached.validFor(p, now);
                if (valid && cached.fresh(now)) {
                    return cached.token;
                }
                AccessToken token = null;
                try {
                    token = tokenGateway(p.credential.generation()).requestToken(p.credential.tokenEndpoint(), p.credential.clientId(),
                            resource, type);
                } catch (TokenEndpointException e) {
                    if (!reissued && isRemediable(e) && mayReissueForRejection(now, p.x5tS256)) {
                        rejected = p.x5tS256;
                        log().warn("Token endpoint rejected certificate {} ({}); renewing the credential once and retrying",
                                p.x5tS256, e.error() != null ? e.error() : "TLS failure");
                    } else {
                        TokenAcquisitionException failure = new TokenAcquisitionException(resource, e, reissued);
                        if (valid) {
                            cached.retryRefreshAtMillis = now + TOKEN_REFRESH_RETRY_MILLIS;
                            log().warn("Token refresh for {} failed, serving the cached token until it expires: {}", resource,
                                    failure.getMessage());
                            return cached.token;
                        }
                        throw failure;
                    }
                }
                if (token != null) {
                    Published after = current;
                    cacheToken(tokens, resource, token, after != null ? after : p, clock.millis());
                    if (after == null || token.x5tS256().equals(after.x5tS256)) {
                        return token;
                    }
                    if (round >= 2) {
                        // never a token for a replaced certificate: it no longer matches what our key manager presents
                        throw new CredentialUnavailableException("no token for " + resource + " bound to the current credential of "
                                + identity + " after " + (round + 1) + " requests: it was replaced while they were in flight", null);
                    }
                }
            } finally {
                lock.unlock();
            }
            if (rejected != null) {
                reissued = true;
                renewReplacing(rejected); // outside the lock; the next round requests with its result
            }
        }
    }

    /**
     * A certificate the token endpoint rejects is re-issued at most once per {@link #REISSUE_INTERVAL_MILLIS}:
     * an endpoint that rejects every certificate (missing permissions, a broken client) must not turn
     * each token request into an issuance. Callers whose requests were rejected together share that
     * one re-issue: when {@code rejectedX5t} is no longer current, or its re-issue is under way, the
     * retry costs no issuance (renewReplacing returns the successor, or joins its flight).
     */
    private boolean mayReissueForRejection(long nowMillis, String rejectedX5t) {
        synchronized (stateLock) {
            Published p = current;
            Flight running = flight;
            if ((p != null && !p.x5tS256.equals(rejectedX5t)) // replaced meanwhile
                    || rejectedX5t.equals(reissueGrantedFor) // its re-issue was granted to a caller rejected with it
                    || (running != null && (running.mode == Mode.FORCE || rejectedX5t.equals(running.replacingX5t)))) { // being replaced
                return true;
            }
            if (lastReissueForRejectionMillis != Long.MIN_VALUE && nowMillis - lastReissueForRejectionMillis < REISSUE_INTERVAL_MILLIS) {
                return false;
            }
            lastReissueForRejectionMillis = nowMillis;
            reissueGrantedFor = rejectedX5t;
            return true;
        }
    }
    private void cacheToken(ConcurrentHashMap<String, CachedToken> tokens, String resource, AccessToken token, Published p, long nowMillis) {
        long expires = token.expiresOn().toEpochMilli();
        long refreshAt = nowMillis + (expires - nowMillis) / 2;
        String bound = token.x5tS256().equals(p.x5tS256) ? p.x5tS256 : token.x5tS256();
        CachedToken entry = new CachedToken(token, bound, refreshAt, expires);
        try {
            entry.refreshTimer = executor.schedule(() -> {
                entry.refreshDue = true;
            }, Math.max(0, refreshAt - nowMillis), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            entry.refreshDue = true;
        }
        cancelRefresh(tokens.put(resource, entry));
    }

    private static void cancelRefresh(CachedToken t) {
        ScheduledFuture<?> timer = t != null ? t.refreshTimer : null;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    /** Drops cached tokens bound to another certificate than {@code x5t} (all of them when null), with their timers. */
    private void dropTokensNotBoundTo(String x5t) {
        for (ConcurrentHashMap<String, CachedToken> tokens : List.of(popTokens, bearerTokens)) {
            for (Map.Entry<String, CachedToken> e : tokens.entrySet()) { // a loop, not removeIf: a publish is on a cold start's path
                CachedToken t = e.getValue();
                if ((x5t == null || !t.token.x5tS256().equals(x5t)) && tokens.remove(e.getKey(), t)) {
                    cancelRefresh(t);
                }
            }
        }
    }

    /**
     * Protocol §7.6: invalid_client, or a TLS-level failure anywhere in the cause chain, unless it is
     * our side refusing the endpoint's certificate (a {@link CertificateException} in the chain, or a
     * host name that does not match): a new certificate of ours cannot fix that, and re-minting on it
     * (as MSAL.NET does) replaced a good credential on every token call to an endpoint whose CA was
     * not trusted.
     */
    static boolean isRemediable(TokenEndpointException e) {
        if ("invalid_client".equals(e.error())) {
            return true;
        }
        boolean tlsFailure = false;
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof javax.net.ssl.SSLPeerUnverifiedException) {
                return false; // we refused the endpoint (its chain, or its host name), not it us
            }
            if (t instanceof SSLException) {
                tlsFailure = true;
            }
            if (t instanceof SocketException && t.getMessage() != null && t.getMessage().toLowerCase().contains("reset")) {
                tlsFailure = true;
            }
        }
        return tlsFailure;
    }

    /**
     * The token client for one credential generation. A new generation gets a new client: pooled
     * connections of the old one were handshaken with the old certificate, and a token requested
     * over them would be bound to it.
     */
    private TokenGateway tokenGateway(long forGeneration) {
        if (tokenGatewayOverride != null) {
            return tokenGatewayOverride;
        }
        GenerationTokenClient t = tokenClient;
        if (t == null || t.generation != forGeneration) {
            synchronized (lazyInitLock) {
                t = tokenClient;
                if (t == null || t.generation != forGeneration) {
                    MtlsTokenClient client = MtlsTokenClient.builder().tls(sslContext().getSocketFactory(), trustManager())
                            .readTimeout(tokenReadTimeout).clock(clock).build();
                    t = new GenerationTokenClient(forGeneration, client);
                    tokenClient = t;
                }
            }
        }
        return t.client::requestToken;
    }

    private static final class GenerationTokenClient {
        final long generation;
        final MtlsTokenClient client;

        GenerationTokenClient(long generation, MtlsTokenClient client) {
            this.generation = generation;
            this.client = client;
        }
    }

    /**
     * After a rotation, cached TLS sessions of our own context must not be resumed: a resumed
     * session keeps the old client certificate (and a token requested over it would be bound to it).
     * {@code keep} null invalidates every session; otherwise only sessions whose client certificate
     * is not {@code keep}.
     */
    private void invalidateTlsSessions(X509Certificate keep) {
        SSLContext ctx = sslContext;
        if (ctx == null) {
            return;
        }
        SSLSessionContext sessions = ctx.getClientSessionContext();
        for (Enumeration<byte[]> ids = sessions.getIds(); ids.hasMoreElements(); ) {
            SSLSession session = sessions.getSession(ids.nextElement());
            if (session != null && (keep == null || !presented(session, keep))) {
                session.invalidate();
            }
        }
    }

    private static boolean presented(SSLSession session, X509Certificate certificate) {
        java.security.cert.Certificate[] local = session.getLocalCertificates();
        return local != null && local.length > 0 && local[0].equals(certificate);
    }

    /**
     * A handshake of the previous generation that was in flight at the rotation completes after the
     * invalidation above and caches a session with the old certificate, which a later connection
     * would resume. Sweep once more when such handshakes are over; only sessions of older
     * certificates go.
     */
    private void scheduleSessionSweep(Published p) {
        synchronized (stateLock) {
            if (closed || sslContext == null) {
                return;
            }
            if (sessionSweep != null) {
                sessionSweep.cancel(false); // the newer generation's sweep covers what the older one would
            }
            try {
                sessionSweep = executor.schedule(() -> invalidateTlsSessions(p.credential.certificate()),
                        SESSION_SWEEP_DELAY.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                sessionSweep = null; // shut down: nothing resumes sessions through this cache any more
            }
        }
    }

    // ---------------------------------------------------------------- defaults

    private static CredentialStore defaultStore(boolean persistence, Clock clock) {
        if (persistence) {
            for (CredentialStoreProvider provider : ServiceLoader.load(CredentialStoreProvider.class)) {
                if (provider.isSupported()) {
                    log().debug("Using credential store '{}'", provider.name());
                    return provider.create(StoreOptions.defaults().withClock(clock));
                }
            }
            log().info("No platform credential store available; credentials live in memory only");
        }
        return new InMemoryCredentialStore();
    }

    private static ScheduledExecutorService defaultExecutor() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, new DaemonThreads("msi-credential-renewal"));
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }

    private static ExecutorService defaultWorker() {
        return Executors.newCachedThreadPool(new DaemonThreads("msi-credential-acquisition"));
    }

    /*
     * The tasks and thread factories of a cold start's path are small named classes, not lambdas:
     * in a fresh JVM the first lambda costs ~8 ms of method-handle set-up and each further one ~1 ms,
     * a sizeable part of serving a stored credential.
     */

    private static final class DaemonThreads implements ThreadFactory {
        private final String name;

        DaemonThreads(String name) {
            this.name = name;
        }

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        }
    }

    private final class FlightRun implements Runnable {
        private final Flight flight;

        FlightRun(Flight flight) {
            this.flight = flight;
        }

        @Override
        public void run() {
            runFlight(flight);
        }
    }

    private final class ExpiryTimer implements Runnable {
        private final Published published;

        ExpiryTimer(Published published) {
            this.published = published;
        }

        @Override
        public void run() {
            expire(published);
        }
    }

    private final class RenewalTimer implements Runnable {
        private final Published published;

        RenewalTimer(Published published) {
            this.published = published;
        }

        @Override
        public void run() {
            startBackgroundRenewal(published);
        }
    }

    /** Releases the callers waiting for a flight, once the listeners were told (ListenerDelivery runs it). */
    private static final class Release implements Runnable {
        private final Outcome outcome;
        private final Published published;

        Release(Outcome outcome, Published published) {
            this.outcome = outcome;
            this.published = published;
        }

        @Override
        public void run() {
            outcome.complete(published);
        }
    }

    /** Configuration of a {@link MsiCredentialCache}; every setting has a default that works on an Azure VM. */
    public static final class Builder {
        private ManagedIdentityId identity = ManagedIdentityId.systemAssigned();
        private ImdsClient imdsClient;
        private IssuerGateway issuer;
        private CredentialStore store;
        private boolean persistence = true;
        private KeyProvider keyProvider;
        private KeyAttestor attestor;
        private boolean attestorSet;
        private KeyProtection minimumProtection = KeyProtection.SOFTWARE;
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService executor;
        private Executor worker;
        private RenewalPolicy policy = RenewalPolicy.defaults();
        private Duration lockWait = Duration.ofSeconds(30);
        private final List<X509Certificate> trustedCertificates = new ArrayList<>();
        private TokenType tokenType;
        private TokenGateway tokenGateway;
        private boolean prepareKeys = true;
        private Duration listenerGrace = LISTENER_GRACE;
        private Duration clockCheckInterval = CLOCK_CHECK_INTERVAL;
        private Duration tokenReadTimeout = Duration.ofSeconds(30);

        private Builder() {
        }

        /** Default: the system-assigned identity. */
        public Builder identity(ManagedIdentityId identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /** Default: {@code ImdsClient.builder().build()} (the IMDS endpoint from the environment). */
        public Builder imdsClient(ImdsClient imdsClient) {
            this.imdsClient = Objects.requireNonNull(imdsClient, "imdsClient");
            return this;
        }

        /** Default: the first supported platform store, else memory. */
        public Builder store(CredentialStore store) {
            this.store = Objects.requireNonNull(store, "store");
            return this;
        }

        /** false: keep credentials in memory only (ignored when {@link #store} is set). */
        public Builder persistence(boolean persistence) {
            this.persistence = persistence;
            return this;
        }

        /** Default: the strongest supported provider found with ServiceLoader (software as the fallback). */
        public Builder keyProvider(KeyProvider keyProvider) {
            this.keyProvider = Objects.requireNonNull(keyProvider, "keyProvider");
            return this;
        }

        /** Default: the first supported attestor found with ServiceLoader. null: never attest. */
        public Builder keyAttestor(KeyAttestor attestor) {
            this.attestor = attestor;
            this.attestorSet = true;
            return this;
        }

        /** Fail closed below this protection (default SOFTWARE: anything goes). */
        public Builder minimumProtection(KeyProtection minimum) {
            this.minimumProtection = Objects.requireNonNull(minimum, "minimum");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Runs the timers (acquisitions run elsewhere). Default: one daemon thread, shut down by {@link #close()}. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        public Builder renewalPolicy(RenewalPolicy policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** How long to wait for the store's cross-process lock (default 30 s). */
        public Builder lockWait(Duration lockWait) {
            this.lockWait = Objects.requireNonNull(lockWait, "lockWait");
            return this;
        }

        /** Extra CAs trusted for the token endpoint, in addition to the JVM's default trust. */
        public Builder trustedCertificates(Collection<X509Certificate> cas) {
            this.trustedCertificates.addAll(cas);
            return this;
        }

        /** Token type for {@link #acquireToken(String)}; default MTLS_POP when attested, else BEARER. */
        public Builder tokenType(TokenType tokenType) {
            this.tokenType = tokenType;
            return this;
        }

        /**
         * Whether to make the next key in the background after each publish, so that a renewal
         * does not wait for key generation (default true).
         */
        public Builder prepareKeys(boolean prepareKeys) {
            this.prepareKeys = prepareKeys;
            return this;
        }

        /**
         * How long the token endpoint may take to answer before {@link #acquireToken} gives up on
         * that attempt (default 30 s); a timed-out attempt is retried once, 1 s later.
         */
        public Builder tokenReadTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("tokenReadTimeout must be positive: " + timeout);
            }
            this.tokenReadTimeout = timeout;
            return this;
        }

        /**
         * Test seam: how long callers wait for listeners busy on another thread (default
         * {@link #LISTENER_GRACE}); a long one shows a release that only the bound made.
         */
        Builder listenerGrace(Duration grace) {
            this.listenerGrace = Objects.requireNonNull(grace, "grace");
            return this;
        }

        /** Test seam: how often the wall clock is checked against the timers (default {@link #CLOCK_CHECK_INTERVAL}). */
        Builder clockCheckInterval(Duration interval) {
            this.clockCheckInterval = Objects.requireNonNull(interval, "interval");
            return this;
        }

        /**
         * Test seam: runs acquisitions (default: daemon threads owned by the cache). A direct
         * executor makes timer-started renewals run inside the fake executor's advance().
         */
        Builder worker(Executor worker) {
            this.worker = Objects.requireNonNull(worker, "worker");
            return this;
        }

        /** Test seam: IMDS calls without HTTP. */
        Builder issuer(IssuerGateway issuer) {
            this.issuer = issuer;
            return this;
        }

        /** Test seam: token requests without an mTLS token endpoint. */
        Builder tokenGateway(TokenGateway tokenGateway) {
            this.tokenGateway = tokenGateway;
            return this;
        }

        public MsiCredentialCache build() {
            return new MsiCredentialCache(this);
        }
    }

    /** Resolved at the first log line: slf4j's start-up (~15 ms in a fresh JVM) stays off a cold start's path. */
    private static Logger log() {
        return LogHolder.LOG;
    }

    private static final class LogHolder {
        static final Logger LOG = LoggerFactory.getLogger(MsiCredentialCache.class);
    }
}
