package io.msiagent.imds;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.FormBody;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mTLS token request: {@code POST {tokenEndpoint}} with {@code client_id},
 * {@code scope=<resource>/.default}, {@code grant_type=client_credentials} and {@code token_type},
 * over TLS whose client certificate comes from the caller's key manager (inside the socket
 * factory). One retry on 5xx. Thread-safe; build once, share.
 *
 * <p>Retries: one, after 1 s (+ up to 20 % jitter), for 5xx, timeouts and dropped connections; a
 * {@code Retry-After} on that 5xx is honoured up to 60 s (MSAL.NET does not retry at all then),
 * never past the call deadline. The proxy is the JVM default (egress to ESTS may need one; mTLS
 * passes through CONNECT unchanged).
 *
 * <p>The token's {@code x5tS256} is computed from the client certificate OkHttp reports for the
 * handshake that carried the request, not from what the caller thinks is current: the token is
 * bound to the former. Connections are neither pooled nor their TLS sessions resumed (token
 * requests are rare), so each request makes a full handshake and presents the key manager's
 * current certificate.
 *
 * <p>CONTRACT (frozen for the other modules; the implementation is the imds-client issue's).
 */
public final class MtlsTokenClient {
    private static final Logger LOG = LoggerFactory.getLogger(MtlsTokenClient.class);

    private final RetryingCaller caller;
    private final TimeSource time;
    private final Duration deadline;

    private MtlsTokenClient(Builder b) {
        if (b.socketFactory == null || b.trustManager == null) {
            throw new IllegalStateException("MtlsTokenClient needs tls(socketFactory, trustManager)");
        }
        OkHttpClient http = new OkHttpClient.Builder()
                .sslSocketFactory(b.socketFactory, b.trustManager)
                .connectTimeout(b.connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .readTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .writeTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .retryOnConnectionFailure(false) // the RetryPolicy is the only one that retries
                .addNetworkInterceptor(RetryAfterShield.INSTANCE) // ... also after a 503 with Retry-After
                // No idle connections: every token request makes its own handshake, so it presents the
                // key manager's current certificate, never one from before a rotation.
                .connectionPool(new ConnectionPool(0, 1, TimeUnit.SECONDS))
                .eventListener(new NoSessionResumption())
                .followRedirects(false)
                .build();
        this.caller = new RetryingCaller(http, RetryPolicy.tokenEndpoint(b.jitter), b.sleeper, b.time, b.callDeadline);
        this.time = b.time;
        this.deadline = b.callDeadline;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * @param tokenEndpoint the full {@code .../{tenant}/oauth2/v2.0/token} URL
     * @param resource e.g. {@code https://management.azure.com} (a trailing {@code /.default} is tolerated)
     * @throws TokenEndpointException on an error reply, a transport failure, or a reply whose
     *         {@code token_type} differs from the one asked for (then {@code error()} is
     *         {@code token_type_mismatch}, or {@code token_type_missing} when it is absent)
     */
    public AccessToken requestToken(String tokenEndpoint, String clientId, String resource, TokenType tokenType) {
        HttpUrl url = tokenUrl(tokenEndpoint);
        requireText(clientId, "clientId");
        Objects.requireNonNull(tokenType, "tokenType");
        String scope = scope(resource);
        String requestId = UUID.randomUUID().toString();
        Request request = new Request.Builder().url(url)
                .header("client-request-id", requestId)
                .header("return-client-request-id", "true")
                .header("Accept", "application/json")
                .post(new FormBody.Builder()
                        .add("client_id", clientId.strip())
                        .add("scope", scope)
                        .add("grant_type", "client_credentials")
                        .add("token_type", tokenType.wireName())
                        .build())
                .build();
        Outcome outcome = caller.call(request, "token endpoint " + url.host(), requestId);
        TokenErrors errors = new TokenErrors(url, requestId, deadline);
        if (outcome.ending() != Outcome.Ending.SUCCESS) {
            throw errors.failed(outcome);
        }
        Reply reply = outcome.reply();
        Optional<String> x5t = TokenReplies.x5tS256(reply.handshake() == null ? null
                : reply.handshake().localCertificates());
        if (x5t.isEmpty()) {
            throw errors.noClientCertificate(reply);
        }
        try {
            if (reply.body().truncated()) {
                throw new ReplyFormatException("the body is larger than " + BoundedBody.DEFAULT_LIMIT / 1024 + " KiB");
            }
            AccessToken token = TokenReplies.token(reply.body().bytes(), tokenType, time.now(), x5t.get());
            LOG.debug("token endpoint {}: {} token for {} bound to x5t#S256 {}, expires {} (request id {})", url.host(),
                    tokenType.wireName(), scope, token.x5tS256(), token.expiresOn(), requestId);
            return token;
        } catch (ReplyFormatException e) {
            throw errors.malformed(reply, e.getMessage(), e);
        } catch (TokenReplies.TokenTypeMismatch e) {
            throw errors.tokenType(reply, e);
        }
    }

    /** {@code resource} without a trailing {@code /.default} and trailing slashes, plus {@code /.default}. */
    static String scope(String resource) {
        String r = requireText(resource, "resource").strip();
        if (r.endsWith("/.default")) {
            r = r.substring(0, r.length() - "/.default".length());
        }
        r = r.replaceAll("/+$", "");
        if (r.isEmpty()) {
            throw new IllegalArgumentException("resource is empty: '" + resource + "'");
        }
        return r + "/.default";
    }

    private static HttpUrl tokenUrl(String tokenEndpoint) {
        HttpUrl url = HttpUrl.parse(requireText(tokenEndpoint, "tokenEndpoint").strip());
        if (url == null || !url.isHttps()) {
            throw new IllegalArgumentException("tokenEndpoint must be an https URL: '" + tokenEndpoint + "'");
        }
        return url;
    }

    private static String requireText(String value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
        return value;
    }

    public static final class Builder {
        private SSLSocketFactory socketFactory;
        private X509TrustManager trustManager;
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration readTimeout = Duration.ofSeconds(30);
        private Duration callDeadline = Duration.ofSeconds(90);
        private Sleeper sleeper = Sleeper.REAL;
        private DoubleSupplier jitter = () -> ThreadLocalRandom.current().nextDouble();
        private TimeSource time = TimeSource.SYSTEM;

        private Builder() {
        }

        /** Required: a socket factory whose SSLContext holds our rotating key manager, and its trust manager. */
        public Builder tls(SSLSocketFactory socketFactory, X509TrustManager trustManager) {
            this.socketFactory = Objects.requireNonNull(socketFactory, "socketFactory");
            this.trustManager = Objects.requireNonNull(trustManager, "trustManager");
            return this;
        }

        /** Default 5 s. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = ImdsClient.Builder.positive(timeout, "connectTimeout");
            return this;
        }

        /** Default 30 s per read. */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = ImdsClient.Builder.positive(timeout, "readTimeout");
            return this;
        }

        /** The total time one call may take, the retry included. Default 90 s. */
        public Builder callDeadline(Duration deadline) {
            this.callDeadline = ImdsClient.Builder.positive(deadline, "callDeadline");
            return this;
        }

        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        /** Source of the back-off jitter, values in [0, 1); tests pin it. */
        Builder jitter(DoubleSupplier jitter) {
            this.jitter = Objects.requireNonNull(jitter, "jitter");
            return this;
        }

        Builder time(TimeSource time) {
            this.time = Objects.requireNonNull(time, "time");
            return this;
        }

        /**
         * The wall clock that turns a reply's {@code expires_in} into {@link AccessToken#expiresOn()}
         * (and reads {@code Retry-After} dates): the caller's own, so that it judges a token's expiry
         * by the clock it made it with. Default: the system clock.
         */
        public Builder clock(java.time.Clock clock) {
            Objects.requireNonNull(clock, "clock");
            this.time = new TimeSource() {
                @Override
                public long nanoTime() {
                    return System.nanoTime();
                }

                @Override
                public java.time.Instant now() {
                    return clock.instant();
                }
            };
            return this;
        }

        public MtlsTokenClient build() {
            return new MtlsTokenClient(this);
        }
    }
}
