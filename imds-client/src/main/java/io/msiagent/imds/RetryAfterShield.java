package io.msiagent.imds;

import java.io.IOException;
import okhttp3.Interceptor;
import okhttp3.Response;

/**
 * OkHttp's follow-up rule repeats a 503 carrying {@code Retry-After: 0} at once, outside our
 * {@link RetryPolicy} and its budget, and throws an untyped NumberFormatException on a value above
 * 2^31-1. Our policy reads the header itself, so this network interceptor moves it to a name OkHttp
 * does not know before OkHttp's follow-up logic sees the reply.
 */
final class RetryAfterShield implements Interceptor {
    static final RetryAfterShield INSTANCE = new RetryAfterShield();
    /** Where the reply's Retry-After is found after the move. */
    static final String HEADER = "Msi-Agent-Retry-After";

    private RetryAfterShield() {
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Response response = chain.proceed(chain.request());
        String retryAfter = response.header("Retry-After");
        if (retryAfter == null) {
            return response;
        }
        return response.newBuilder().removeHeader("Retry-After").header(HEADER, retryAfter).build();
    }
}
