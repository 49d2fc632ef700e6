package io.msiagent.imds;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Which failures are retried, how often and after how long.
 *
 * <p>IMDS (protocol §7.1): 404, 408, 429, 5xx, timeouts and connection resets get 3 retries after
 * 1 s, 2 s, 4 s; 410 ("IMDS is updating") gets 7 retries 10 s apart; everything else none. As in
 * MSAL.NET the retry budget is decided by the first failure; each delay follows the failure it
 * answers. The token endpoint (§6.7) gets one retry after 1 s, for 5xx, timeouts and resets only.
 *
 * <p>Unlike MSAL.NET: every delay gets up to +20 % jitter (never less than the table, so a herd of
 * VMs does not retry in step), and a {@code Retry-After} is honoured on both legs as
 * max(table, Retry-After) capped at 60 s; MSAL ignores it on IMDS and does not retry at all on the
 * token endpoint when it is present, which turns a polite "come back in 5 s" into a failure.
 *
 * <p>Connection refused, no route and unknown host are never retried: nothing listens there, and
 * waiting will not change that (a machine without IMDS must fail fast). TLS handshake and peer
 * verification failures are configuration errors and are not retried either.
 *
 * <p>OkHttp itself repeats a 503 that carries {@code Retry-After: 0} once, at once, before we see
 * it (its follow-up rule, which cannot be switched off); that is what such a server asks for, so
 * it is left alone. OkHttp's own connection-failure retries are switched off by the clients.
 */
final class RetryPolicy {
    static final Duration MAX_DELAY = Duration.ofSeconds(60);
    private static final double MAX_JITTER = 0.20;

    /** What kind of failure an attempt ended with. */
    enum Kind {
        /** 404/408/429/5xx (IMDS), 5xx (token endpoint), timeouts, resets. */
        TRANSIENT,
        /** 410: IMDS is being updated; slower, longer schedule. */
        UPDATING,
        /** Not worth retrying. */
        PERMANENT
    }

    private final boolean imds;
    private final DoubleSupplier jitter;

    private RetryPolicy(boolean imds, DoubleSupplier jitter) {
        this.imds = imds;
        this.jitter = jitter;
    }

    /** @param jitter values in [0, 1): the fraction of the maximum jitter to add */
    static RetryPolicy imds(DoubleSupplier jitter) {
        return new RetryPolicy(true, jitter);
    }

    static RetryPolicy tokenEndpoint(DoubleSupplier jitter) {
        return new RetryPolicy(false, jitter);
    }

    Kind classify(int status) {
        if (status >= 500 && status <= 599) {
            return Kind.TRANSIENT;
        }
        if (!imds) {
            return Kind.PERMANENT;
        }
        if (status == 404 || status == 408 || status == 429) {
            return Kind.TRANSIENT;
        }
        return status == 410 ? Kind.UPDATING : Kind.PERMANENT;
    }

    Kind classify(IOException failure) {
        if (failure instanceof ConnectException || failure instanceof NoRouteToHostException
                || failure instanceof UnknownHostException || failure instanceof SSLHandshakeException
                || failure instanceof SSLPeerUnverifiedException) {
            return Kind.PERMANENT;
        }
        return Kind.TRANSIENT;
    }

    /** How many retries follow a first failure of this kind. */
    int maxRetries(Kind firstFailure) {
        return switch (firstFailure) {
            case TRANSIENT -> imds ? 3 : 1;
            case UPDATING -> 7;
            case PERMANENT -> 0;
        };
    }

    /** The table delay before retry number {@code retry} (1-based) after a failure of this kind. */
    Duration tableDelay(Kind failure, int retry) {
        if (failure == Kind.UPDATING) {
            return Duration.ofSeconds(10);
        }
        return Duration.ofSeconds(Math.min(1L << Math.min(retry - 1, 2), 4));
    }

    /**
     * The delay before retry number {@code retry}, or empty when the budget set by the first failure
     * is spent or this failure is not retryable.
     */
    Optional<Duration> delayBefore(int retry, Kind firstFailure, Kind failure, Optional<Duration> retryAfter) {
        if (failure == Kind.PERMANENT || retry > maxRetries(firstFailure)) {
            return Optional.empty();
        }
        Duration base = tableDelay(failure, retry);
        if (retryAfter.isPresent() && retryAfter.get().compareTo(base) > 0) {
            base = retryAfter.get();
        }
        double fraction = Math.min(Math.max(jitter.getAsDouble(), 0.0), 1.0) * MAX_JITTER;
        Duration jittered = base.plusMillis(Math.round(base.toMillis() * fraction));
        Duration capped = jittered.compareTo(MAX_DELAY) > 0 ? MAX_DELAY : jittered;
        return Optional.of(capped);
    }
}
