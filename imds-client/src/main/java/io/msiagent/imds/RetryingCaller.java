package io.msiagent.imds;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one request until it gets HTTP 200 or the {@link RetryPolicy} or the call deadline says
 * stop. The deadline bounds everything: each attempt's OkHttp call timeout is the time left, and a
 * back-off that would end past the deadline is not started. Back-off waits go through the
 * {@link Sleeper}. Logs status, request ids, attempt numbers and delays; never headers or bodies.
 */
final class RetryingCaller {
    private static final Logger LOG = LoggerFactory.getLogger(RetryingCaller.class);

    private final OkHttpClient http;
    private final RetryPolicy policy;
    private final Sleeper sleeper;
    private final TimeSource time;
    private final Duration deadline;

    RetryingCaller(OkHttpClient http, RetryPolicy policy, Sleeper sleeper, TimeSource time, Duration deadline) {
        this.http = http;
        this.policy = policy;
        this.sleeper = sleeper;
        this.time = time;
        this.deadline = deadline;
    }

    /**
     * @param operation for logs, e.g. {@code "IMDS getplatformmetadata"}
     * @param requestId the request id header value we sent, for logs
     */
    Outcome call(Request request, String operation, String requestId) {
        long deadlineAt = time.nanoTime() + deadline.toNanos();
        RetryPolicy.Kind firstKind = null;
        for (int attempt = 1; ; attempt++) {
            Call call = http.newCall(request);
            call.timeout().timeout(Math.max(1, deadlineAt - time.nanoTime()), TimeUnit.NANOSECONDS);
            LOG.debug("{} attempt {} (request id {})", operation, attempt, requestId);
            Reply reply = null;
            IOException failure = null;
            try (Response response = call.execute()) {
                BoundedBody body = BoundedBody.read(response.body(), BoundedBody.DEFAULT_LIMIT);
                reply = new Reply(response.code(), response.headers(), body, response.handshake());
            } catch (IOException e) {
                failure = e;
            }
            if (reply != null && reply.status() == 200) {
                LOG.debug("{} attempt {}: HTTP 200 (request id {}, server request id {})", operation, attempt,
                        requestId, reply.serverRequestId());
                return new Outcome(Outcome.Ending.SUCCESS, reply, null, attempt, null);
            }
            RetryPolicy.Kind kind = reply != null ? policy.classify(reply.status()) : policy.classify(failure);
            boolean interrupted = failure instanceof InterruptedIOException && Thread.currentThread().isInterrupted();
            failure = RedactedIOException.of(failure);
            if (interrupted) {
                return new Outcome(Outcome.Ending.INTERRUPTED, null, failure, attempt, kind);
            }
            if (call.isCanceled()) {
                // Only the call timeout cancels our calls: the deadline ran out during this attempt.
                LOG.info("{} attempt {}: {} at the call deadline of {} (request id {})", operation, attempt,
                        Outcome.describe(reply, failure), Durations.human(deadline), requestId);
                return new Outcome(Outcome.Ending.DEADLINE, null, failure, attempt, kind);
            }
            firstKind = firstKind == null ? kind : firstKind;
            Optional<Duration> retryAfter = reply == null ? Optional.empty()
                    : RetryAfter.parse(reply.headers().get(RetryAfterShield.HEADER), time.now());
            Optional<Duration> delay = policy.delayBefore(attempt, firstKind, kind, retryAfter);
            String serverId = reply == null ? null : reply.serverRequestId();
            if (delay.isEmpty()) {
                Outcome.Ending ending = kind == RetryPolicy.Kind.PERMANENT
                        ? Outcome.Ending.NOT_RETRYABLE : Outcome.Ending.RETRIES_EXHAUSTED;
                LOG.info("{} attempt {}: {}, not retried ({}; request id {}, server request id {})", operation,
                        attempt, Outcome.describe(reply, failure), ending, requestId, serverId);
                return new Outcome(ending, reply, failure, attempt, kind);
            }
            long wakeAt = time.nanoTime() + delay.get().toNanos();
            if (wakeAt - deadlineAt > 0) {
                LOG.info("{} attempt {}: {}, no retry: waiting {} ms would pass the call deadline of {}"
                                + " (request id {}, server request id {})", operation, attempt, Outcome.describe(reply, failure),
                        delay.get().toMillis(), Durations.human(deadline), requestId, serverId);
                return new Outcome(Outcome.Ending.DEADLINE, reply, failure, attempt, kind);
            }
            LOG.info("{} attempt {}: {}; retry {}/{} in {} ms (request id {}, server request id {})", operation, attempt,
                    Outcome.describe(reply, failure), attempt, policy.maxRetries(firstKind), delay.get().toMillis(), requestId,
                    serverId);
            try {
                sleeper.sleep(delay.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Outcome(Outcome.Ending.INTERRUPTED, reply, failure, attempt, kind);
            }
        }
    }
}
