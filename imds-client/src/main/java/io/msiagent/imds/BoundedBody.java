package io.msiagent.imds;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import okhttp3.ResponseBody;
import okio.BufferedSource;

/**
 * A reply body read with a size cap: at most {@code limit} bytes are ever buffered, whatever the
 * server sends or claims in {@code Content-Length}. {@code truncated} says the body was longer.
 */
record BoundedBody(byte[] bytes, boolean truncated) {
    /** 1 MiB: IMDS and token replies are a few kilobytes; anything near this is not a real reply. */
    static final long DEFAULT_LIMIT = 1024 * 1024;

    static BoundedBody read(ResponseBody body, long limit) throws IOException {
        if (body.contentLength() > limit) {
            return new BoundedBody(new byte[0], true);
        }
        BufferedSource source = body.source();
        boolean longer = source.request(limit + 1);
        long available = Math.min(source.getBuffer().size(), limit);
        return new BoundedBody(source.readByteArray(available), longer);
    }

    String text() {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A safe excerpt for messages; null when the body is empty. */
    String excerpt() {
        return bytes.length == 0 ? null : Redactor.excerpt(text());
    }
}
