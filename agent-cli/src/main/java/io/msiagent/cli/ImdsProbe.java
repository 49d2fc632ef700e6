package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import java.net.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * One direct, unretried {@code getplatformmetadata} call for {@code doctor}: reachability and
 * latency, the status (v2 or v1-only), the Server header and the Date header (clock skew). No
 * proxy, like the real client; the body is not read beyond the status.
 */
record ImdsProbe(String endpoint, int status, Duration latency, String server, Instant serverDate, Instant localDate,
                 String clientRequestId, String serverRequestId, String failure) {

    static ImdsProbe run(String endpoint, ManagedIdentityId identity) {
        String requestId = UUID.randomUUID().toString();
        HttpUrl base = HttpUrl.parse(endpoint);
        if (base == null) {
            return new ImdsProbe(endpoint, -1, null, null, null, null, requestId, null, "not an http(s) URL");
        }
        HttpUrl.Builder url = base.newBuilder().addPathSegments("metadata/identity/getplatformmetadata")
                .addQueryParameter("cred-api-version", "2.0");
        if (!identity.isSystemAssigned()) {
            url.addQueryParameter(identity.selector().queryName(), identity.selector().value());
        }
        OkHttpClient http = new OkHttpClient.Builder().proxy(Proxy.NO_PROXY).connectTimeout(2, TimeUnit.SECONDS)
                .readTimeout(5, TimeUnit.SECONDS).retryOnConnectionFailure(false).followRedirects(false).build();
        Request request = new Request.Builder().url(url.build()).header("Metadata", "true")
                .header("x-ms-client-request-id", requestId).get().build();
        long start = System.nanoTime();
        try (Response response = http.newCall(request).execute()) {
            Duration latency = Duration.ofNanos(System.nanoTime() - start);
            Instant local = Instant.now();
            return new ImdsProbe(endpoint, response.code(), latency, response.header("Server"), parseDate(response.header("Date")),
                    local, requestId, response.header("x-ms-request-id"), null);
        } catch (java.io.IOException e) {
            return new ImdsProbe(endpoint, -1, null, null, null, null, requestId, null, e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            http.dispatcher().executorService().shutdown();
            http.connectionPool().evictAll();
        }
    }

    private static Instant parseDate(String value) {
        if (value == null) {
            return null;
        }
        try {
            return ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
