package io.msiagent.imds;

import java.net.Proxy;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * The IMDS v2 client: {@code getplatformmetadata} and {@code issuecredential}, with the retry
 * table of the protocol document. Never goes through a proxy. Thread-safe; build once, share.
 *
 * <p>One {@code x-ms-client-request-id} (a fresh lower-case GUID) per call, shared by all its
 * retries, like MSAL.NET's correlation id: an operator quotes one id and Azure finds every attempt.
 * Our logs tell the attempts apart by number.
 *
 * <p>CONTRACT (frozen for the other modules; the implementation is the imds-client issue's).
 */
public final class ImdsClient {
    public static final String DEFAULT_ENDPOINT = "http://169.254.169.254";

    static final String ENV_ENDPOINT = "MSI_AGENT_IMDS_ENDPOINT";
    static final String ENV_POD_IDENTITY = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

    private static final String METADATA = "getplatformmetadata";
    private static final String ISSUE = "issuecredential";

    private final String endpoint;
    private final Builder settings;
    private final ImdsErrors errors;
    /**
     * OkHttp and Jackson, set up on the first call. A process that finds a fresh credential in the
     * store never calls IMDS, and building them eagerly cost ~0.5 s of a cold start (class loading
     * and the platform TLS set-up OkHttp does even for plain HTTP).
     */
    private volatile Wire wire;

    /** The HTTP side of the client, made once, on first use. */
    private static final class Wire {
        static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

        final HttpUrl baseUrl;
        final RetryingCaller caller;

        Wire(String endpoint, Builder b) {
            this.baseUrl = HttpUrl.get(endpoint);
            OkHttpClient http = new OkHttpClient.Builder()
                    .proxy(Proxy.NO_PROXY) // IMDS is link-local: a proxy could only intercept it
                    .socketFactory(DirectSocketFactory.INSTANCE) // nor a SOCKS proxy, which the JDK's socket applies itself
                    .connectTimeout(b.connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .readTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .writeTimeout(b.readTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .retryOnConnectionFailure(false) // the RetryPolicy is the only one that retries
                    .addNetworkInterceptor(RetryAfterShield.INSTANCE) // ... also after a 503 with Retry-After
                    .followRedirects(false)
                    .build();
            this.caller = new RetryingCaller(http, RetryPolicy.imds(b.jitter), b.sleeper, b.time, b.callDeadline);
        }
    }

    private ImdsClient(Builder b) {
        this.endpoint = stripTrailingSlashes(b.endpoint != null ? b.endpoint : resolveEndpoint(null, System.getenv()));
        requireHttpUrl(endpoint);
        this.settings = b.copy();
        this.errors = new ImdsErrors(endpoint, b.callDeadline);
    }

    /** Validated with the JDK's URI parser so that building a client loads nothing of OkHttp. */
    private static void requireHttpUrl(String url) {
        try {
            URI uri = new URI(url);
            String scheme = uri.getScheme();
            if (uri.getHost() == null || scheme == null
                    || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
                throw new URISyntaxException(url, "not an http(s) URL with a host");
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("IMDS endpoint is not an http(s) URL: '" + url + "'", e);
        }
    }

    private Wire wire() {
        Wire w = wire;
        if (w == null) {
            synchronized (this) {
                w = wire;
                if (w == null) {
                    w = new Wire(endpoint, settings);
                    wire = w;
                }
            }
        }
        return w;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** explicit > MSI_AGENT_IMDS_ENDPOINT > AZURE_POD_IDENTITY_AUTHORITY_HOST > http://169.254.169.254. */
    public static String resolveEndpoint(String explicit, Map<String, String> environment) {
        for (String candidate : new String[] {explicit, environment.get(ENV_ENDPOINT), environment.get(ENV_POD_IDENTITY)}) {
            if (candidate != null && !candidate.isBlank()) {
                return stripTrailingSlashes(candidate.strip());
            }
        }
        return DEFAULT_ENDPOINT;
    }

    /** The base URL this client talks to, without a trailing slash. */
    public String endpoint() {
        return endpoint;
    }

    /** GET /metadata/identity/getplatformmetadata?cred-api-version=2.0[&selector]. */
    public PlatformMetadata platformMetadata(IdentitySelector identity) {
        Objects.requireNonNull(identity, "identity");
        String requestId = newRequestId();
        Request request = imdsRequest(METADATA, identity, requestId).get().build();
        Outcome outcome = wire().caller.call(request, "IMDS " + METADATA, requestId);
        if (outcome.ending() != Outcome.Ending.SUCCESS) {
            // 404 to the end, whether the retry table or the caller's deadline ended the call: the same evidence.
            if (outcome.status() == 404
                    && (outcome.ending() == Outcome.Ending.RETRIES_EXHAUSTED || outcome.ending() == Outcome.Ending.DEADLINE)) {
                throw errors.v1Only(outcome, requestId);
            }
            throw errors.failed(METADATA, outcome, requestId);
        }
        Reply reply = outcome.reply();
        String server = reply.headers().get("Server");
        if (server == null || !server.toLowerCase(Locale.ROOT).contains("imds")) {
            throw errors.malformed(METADATA, reply, requestId, server == null ? "without a Server header"
                    : "with 'Server: " + Redactor.excerpt(server) + "', not IMDS's", null);
        }
        try {
            return ImdsReplies.platformMetadata(checkedBody(reply));
        } catch (ReplyFormatException e) {
            throw errors.malformed(METADATA, reply, requestId, e.getMessage(), e);
        }
    }

    /**
     * POST /metadata/identity/issuecredential?cred-api-version=2.0[&selector] with
     * {"csr": base64(csrDer), "attestation_token": ...}; the token is omitted when null (or blank).
     */
    public IssuedCredential issueCredential(IdentitySelector identity, byte[] csrDer, String attestationToken) {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(csrDer, "csrDer");
        if (csrDer.length == 0) {
            throw new IllegalArgumentException("csrDer is empty");
        }
        String requestId = newRequestId();
        Map<String, String> body = new LinkedHashMap<>();
        body.put("csr", Base64.getEncoder().encodeToString(csrDer));
        if (attestationToken != null && !attestationToken.isBlank()) {
            body.put("attestation_token", attestationToken);
        }
        Request request = imdsRequest(ISSUE, identity, requestId)
                .post(RequestBody.create(Json.write(body).getBytes(java.nio.charset.StandardCharsets.UTF_8), Wire.JSON))
                .build();
        Outcome outcome = wire().caller.call(request, "IMDS " + ISSUE, requestId);
        if (outcome.ending() != Outcome.Ending.SUCCESS) {
            throw errors.failed(ISSUE, outcome, requestId);
        }
        try {
            return ImdsReplies.issuedCredential(checkedBody(outcome.reply()), requestId, outcome.serverRequestId());
        } catch (ReplyFormatException e) {
            throw errors.malformed(ISSUE, outcome.reply(), requestId, e.getMessage(), e);
        }
    }

    private Request.Builder imdsRequest(String operation, IdentitySelector identity, String requestId) {
        HttpUrl.Builder url = wire().baseUrl.newBuilder()
                .addPathSegments("metadata/identity/" + operation)
                .addQueryParameter("cred-api-version", "2.0");
        if (!identity.isSystemAssigned()) {
            url.addQueryParameter(identity.queryName(), identity.value());
        }
        return new Request.Builder().url(url.build())
                .header("Metadata", "true")
                .header("x-ms-client-request-id", requestId);
    }

    private static byte[] checkedBody(Reply reply) throws ReplyFormatException {
        if (reply.body().truncated()) {
            throw new ReplyFormatException("the body is larger than " + BoundedBody.DEFAULT_LIMIT / 1024 + " KiB");
        }
        return reply.body().bytes();
    }

    private static String newRequestId() {
        return UUID.randomUUID().toString(); // lower-case, hyphenated
    }

    private static String stripTrailingSlashes(String url) {
        int end = url.length();
        while (end > 0 && url.charAt(end - 1) == '/') {
            end--;
        }
        return url.substring(0, end);
    }

    public static final class Builder {
        private static final DoubleSupplier UNIFORM = new DoubleSupplier() {
            @Override
            public double getAsDouble() {
                return ThreadLocalRandom.current().nextDouble();
            }
        };

        private String endpoint;
        private Duration connectTimeout = Duration.ofSeconds(2);
        private Duration readTimeout = Duration.ofSeconds(10);
        private Duration callDeadline = Duration.ofSeconds(90);
        private Sleeper sleeper = Sleeper.REAL;
        private DoubleSupplier jitter = UNIFORM; // not a lambda: see Sleeper.REAL
        private TimeSource time = TimeSource.SYSTEM;

        private Builder() {
        }

        /** Base URL; default {@link #resolveEndpoint(String, Map)} of the process environment. */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /** Default 2 s: IMDS is link-local, it connects at once or not at all. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /** Default 10 s per read. */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = positive(timeout, "readTimeout");
            return this;
        }

        /** The total time one call may take, retries and back-off included. Default 90 s. */
        public Builder callDeadline(Duration deadline) {
            this.callDeadline = positive(deadline, "callDeadline");
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

        public ImdsClient build() {
            return new ImdsClient(this);
        }

        /** A snapshot, so that changing this builder later cannot change a built client. */
        private Builder copy() {
            Builder c = new Builder();
            c.endpoint = endpoint;
            c.connectTimeout = connectTimeout;
            c.readTimeout = readTimeout;
            c.callDeadline = callDeadline;
            c.sleeper = sleeper;
            c.jitter = jitter;
            c.time = time;
            return c;
        }

        static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + d);
            }
            return d;
        }
    }
}
