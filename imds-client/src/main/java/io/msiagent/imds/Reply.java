package io.msiagent.imds;

import okhttp3.Handshake;
import okhttp3.Headers;

/** One HTTP reply, its body already read (bounded) and the connection released. */
record Reply(int status, Headers headers, BoundedBody body, Handshake handshake) {
    /** The server's request id ({@code x-ms-request-id}), or null. */
    String serverRequestId() {
        return headers.get("x-ms-request-id");
    }
}
