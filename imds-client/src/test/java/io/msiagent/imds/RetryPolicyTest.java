package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryPolicyTest {
    private static final RetryPolicy IMDS = RetryPolicy.imds(() -> 0.0);
    private static final RetryPolicy TOKEN = RetryPolicy.tokenEndpoint(() -> 0.0);

    @ParameterizedTest
    @CsvSource({"200,PERMANENT,PERMANENT", "400,PERMANENT,PERMANENT", "401,PERMANENT,PERMANENT",
        "404,TRANSIENT,PERMANENT", "408,TRANSIENT,PERMANENT", "410,UPDATING,PERMANENT", "429,TRANSIENT,PERMANENT",
        "500,TRANSIENT,TRANSIENT", "503,TRANSIENT,TRANSIENT", "599,TRANSIENT,TRANSIENT", "600,PERMANENT,PERMANENT"})
    void statusClasses(int status, RetryPolicy.Kind imds, RetryPolicy.Kind token) {
        assertEquals(imds, IMDS.classify(status));
        assertEquals(token, TOKEN.classify(status));
    }

    @Test
    void transportFailureClasses() {
        for (IOException permanent : new IOException[] {new ConnectException("refused"), new NoRouteToHostException(),
            new UnknownHostException("x"), new SSLHandshakeException("bad")}) {
            assertEquals(RetryPolicy.Kind.PERMANENT, IMDS.classify(permanent), permanent.toString());
        }
        for (IOException transientFailure : new IOException[] {new SocketTimeoutException(),
            new SocketException("Connection reset"), new EOFException(), new IOException("unexpected end of stream")}) {
            assertEquals(RetryPolicy.Kind.TRANSIENT, IMDS.classify(transientFailure), transientFailure.toString());
        }
    }

    @Test
    void budgets() {
        assertEquals(3, IMDS.maxRetries(RetryPolicy.Kind.TRANSIENT));
        assertEquals(7, IMDS.maxRetries(RetryPolicy.Kind.UPDATING));
        assertEquals(0, IMDS.maxRetries(RetryPolicy.Kind.PERMANENT));
        assertEquals(1, TOKEN.maxRetries(RetryPolicy.Kind.TRANSIENT));
    }

    @Test
    void delaysStopAtTheBudgetOfTheFirstFailure() {
        RetryPolicy.Kind t = RetryPolicy.Kind.TRANSIENT;
        assertEquals(Optional.of(Duration.ofSeconds(4)), IMDS.delayBefore(3, t, t, Optional.empty()));
        assertEquals(Optional.empty(), IMDS.delayBefore(4, t, t, Optional.empty()));
        assertEquals(Optional.of(Duration.ofSeconds(4)),
                IMDS.delayBefore(7, RetryPolicy.Kind.UPDATING, t, Optional.empty()));
        assertEquals(Optional.empty(), IMDS.delayBefore(8, RetryPolicy.Kind.UPDATING, t, Optional.empty()));
        assertEquals(Optional.empty(), IMDS.delayBefore(1, t, RetryPolicy.Kind.PERMANENT, Optional.of(Duration.ZERO)));
    }

    @Test
    void jitterIsClampedToTwentyPercent() {
        RetryPolicy wild = RetryPolicy.imds(() -> 7.0);
        RetryPolicy negative = RetryPolicy.imds(() -> -1.0);
        RetryPolicy.Kind t = RetryPolicy.Kind.TRANSIENT;
        assertEquals(Optional.of(Duration.ofMillis(2400)), wild.delayBefore(2, t, t, Optional.empty()));
        assertEquals(Optional.of(Duration.ofMillis(2000)), negative.delayBefore(2, t, t, Optional.empty()));
    }

    @Test
    void retryAfterParsing() {
        Instant now = Instant.parse("2026-11-22T12:00:00Z");
        assertEquals(Optional.of(Duration.ofSeconds(30)), RetryAfter.parse(" 30 ", now));
        assertEquals(Optional.of(Duration.ofSeconds(90)), RetryAfter.parse("Sun, 22 Nov 2026 12:01:30 GMT", now));
        assertEquals(Optional.of(Duration.ZERO), RetryAfter.parse("Sun, 22 Nov 2026 11:00:00 GMT", now));
        assertEquals(Optional.empty(), RetryAfter.parse("-5", now));
        assertEquals(Optional.empty(), RetryAfter.parse("1.5", now));
        assertEquals(Optional.empty(), RetryAfter.parse("", now));
        assertEquals(Optional.empty(), RetryAfter.parse(null, now));
    }
}
