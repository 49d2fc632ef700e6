package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.List;
import java.util.function.DoubleSupplier;
import mockwebserver3.MockResponse;
import mockwebserver3.SocketEffect;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The retry table of protocol §7.1 plus jitter, Retry-After and the call deadline, on real HTTP. */
class ImdsRetryTest {
    private static final IdentitySelector SAMI = IdentitySelector.systemAssigned();

    private ImdsServer imds;
    private FakeTime time;

    @BeforeEach
    void start() throws IOException {
        imds = new ImdsServer();
        time = new FakeTime();
    }

    @AfterEach
    void stop() {
        imds.close();
    }

    private ImdsClient.Builder client(DoubleSupplier jitter) {
        return ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).jitter(jitter);
    }

    private ImdsClient client() {
        return client(() -> 0.0).build();
    }

    @ParameterizedTest
    @ValueSource(ints = {404, 408, 429, 500, 503, 504, 599})
    void transientStatusesGetThreeRetriesAfterOneTwoFourSeconds(int status) {
        imds.enqueue(status, 3);
        imds.enqueue(ImdsServer.metadataOk());

        assertEquals("vm-1234", client().platformMetadata(SAMI).cuId().vmId());

        assertEquals(4, imds.requestCount());
        assertEquals(List.of(1000L, 2000L, 4000L), time.sleepMillis());
    }

    @Test
    void fiveHundredForeverFailsAfterFourAttemptsAsRetryable() throws Exception {
        imds.enqueue(504, 5);

        ImdsException e = assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertEquals(4, imds.requestCount());
        assertEquals(List.of(1000L, 2000L, 4000L), time.sleepMillis());
        assertEquals(504, e.status());
        assertTrue(e.retryable());
        assertEquals("srv-504", e.serverRequestId());
        assertEquals(imds.take().getHeaders().get("x-ms-client-request-id"), e.clientRequestId());
        assertTrue(e.getMessage().contains("HTTP 504 after 4 attempts"), e.getMessage());
        assertTrue(e.getMessage().contains("x-ms-client-request-id " + e.clientRequestId()), e.getMessage());
        assertTrue(e.getMessage().contains("x-ms-request-id srv-504"), e.getMessage());
        assertTrue(e.getMessage().contains("try again later"), e.getMessage());
    }

    @Test
    void aNonJsonErrorBodyAppearsAsARedactedExcerpt() {
        for (int i = 0; i < 4; i++) {
            imds.enqueue(ImdsServer.status(502).body("<html><body>Bad gateway\nupstream eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln"
                    + "</body></html>").build());
        }

        ImdsException e = assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertTrue(e.getMessage().contains(": <html><body>Bad gateway upstream <redacted-jwt></body></html>."),
                e.getMessage());
        assertEquals("<html><body>Bad gateway upstream <redacted-jwt></body></html>", e.bodyExcerpt());
    }

    @Test
    void jitterAddsUpToTwentyPercentAndNeverShortens() {
        Iterator<Double> draws = List.of(0.0, 0.5, 0.999).iterator();
        imds.enqueue(503, 3);
        imds.enqueue(ImdsServer.metadataOk());

        client(draws::next).build().platformMetadata(SAMI);

        assertEquals(List.of(1000L, 2200L, 4799L), time.sleepMillis());
    }

    @Test
    void realJitterStaysWithinTheBounds() {
        imds.enqueue(500, 3);
        imds.enqueue(ImdsServer.metadataOk());

        ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).build().platformMetadata(SAMI);

        List<Long> sleeps = time.sleepMillis();
        long[] table = {1000, 2000, 4000};
        assertEquals(3, sleeps.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(sleeps.get(i) >= table[i] && sleeps.get(i) <= table[i] * 12 / 10, sleeps.toString());
        }
    }

    @Test
    void fourHundredIsNeverRetried() throws Exception {
        imds.enqueue(ImdsServer.status(400).body("{\"error\":\"invalid_request\",\"error_description\":"
                + "\"Attestation Token is missing / empty in the issue credential request\"}").build());
        imds.enqueue(ImdsServer.metadataOk());

        ImdsException e = assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertEquals(1, imds.requestCount());
        assertEquals(List.of(), time.sleeps());
        assertEquals(400, e.status());
        assertTrue(!e.retryable());
        assertTrue(e.getMessage().contains("HTTP 400 after 1 attempt"), e.getMessage());
        assertTrue(e.getMessage().contains("invalid_request: Attestation Token is missing"), e.getMessage());
        assertTrue(e.bodyExcerpt().contains("invalid_request"), e.bodyExcerpt());
    }

    @ParameterizedTest
    @ValueSource(ints = {401, 403, 405, 409, 418})
    void otherClientErrorsAreNotRetried(int status) {
        imds.enqueue(status, 2);

        ImdsException e = assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertEquals(status, e.status());
        assertEquals(1, imds.requestCount());
        assertEquals(List.of(), time.sleeps());
    }

    @Test
    void notFoundAfterItsRetriesMeansImdsV1Only() {
        imds.enqueue(404, 4);

        ImdsV1OnlyException e = assertThrows(ImdsV1OnlyException.class, () -> client().platformMetadata(SAMI));

        assertEquals(4, imds.requestCount());
        assertEquals(List.of(1000L, 2000L, 4000L), time.sleepMillis());
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("IMDS v1 only"), e.getMessage());
        assertEquals("srv-404", e.serverRequestId());
    }

    @Test
    void notFoundUntilACallDeadlineShorterThanTheRetriesStillMeansImdsV1Only() {
        imds.enqueue(404, 4);

        // 1 s + 2 s of back-off fit in 5 s, the 4 s after the third 404 does not: the deadline ends the call.
        ImdsClient client = client(() -> 0.0).callDeadline(Duration.ofSeconds(5)).build();
        ImdsV1OnlyException e = assertThrows(ImdsV1OnlyException.class, () -> client.platformMetadata(SAMI));

        assertEquals(3, imds.requestCount());
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("IMDS v1 only"), e.getMessage());
    }

    @Test
    void notFoundOnIssueCredentialIsAPlainFailure() {
        imds.enqueue(404, 4);

        ImdsException e = assertThrows(ImdsException.class,
                () -> client().issueCredential(SAMI, new byte[] {1, 2, 3}, null));

        assertTrue(!(e instanceof ImdsV1OnlyException));
        assertEquals(404, e.status());
        assertEquals(4, imds.requestCount());
    }

    @Test
    void goneIsRetriedEveryTenSecondsSevenTimes() {
        imds.enqueue(410, 9);

        ImdsException e = assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertEquals(8, imds.requestCount());
        assertEquals(List.of(10000L, 10000L, 10000L, 10000L, 10000L, 10000L, 10000L), time.sleepMillis());
        assertEquals(Duration.ofSeconds(70), time.sleeps().stream().reduce(Duration.ZERO, Duration::plus));
        assertEquals(410, e.status());
        assertTrue(e.retryable());
        assertTrue(e.getMessage().contains("being updated"), e.getMessage());
    }

    @Test
    void goneFourTimesThenSuccess() {
        imds.enqueue(410, 4);
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(5, imds.requestCount());
        assertEquals(4, time.sleeps().size());
    }

    @Test
    void theFirstFailureSetsTheBudgetAndEachDelayFollowsItsFailure() {
        imds.enqueue(410, 1);
        imds.enqueue(503, 6);
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(8, imds.requestCount(), "410 first: 7 retries, though the later failures are 503s");
        assertEquals(List.of(10000L, 2000L, 4000L, 4000L, 4000L, 4000L, 4000L), time.sleepMillis());
    }

    @Test
    void retryAfterSecondsLengthensTheDelay() {
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", "7").build());
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(List.of(7000L), time.sleepMillis());
    }

    @Test
    void retryAfterGetsJitterToo() {
        imds.enqueue(ImdsServer.status(429).addHeader("Retry-After", "10").build());
        imds.enqueue(ImdsServer.metadataOk());

        client(() -> 0.5).build().platformMetadata(SAMI);

        assertEquals(List.of(11000L), time.sleepMillis());
    }

    /** OkHttp would repeat a 503 with Retry-After: 0 itself, and throw NumberFormatException on a value past 2^31-1. */
    @ParameterizedTest
    @ValueSource(strings = {"0", "2147483648"})
    void aServiceUnavailableWithAnyRetryAfterKeepsTheTable(String retryAfter) {
        for (int i = 0; i < 4; i++) {
            imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", retryAfter).build());
        }
        imds.enqueue(ImdsServer.metadataOk());

        ImdsException e = assertThrows(ImdsException.class,
                () -> client(() -> 0.0).callDeadline(Duration.ofMinutes(10)).build().platformMetadata(SAMI));

        assertEquals(503, e.status());
        assertEquals(4, imds.requestCount(), "3 retries");
        assertEquals(retryAfter.equals("0") ? List.of(1000L, 2000L, 4000L) : List.of(60000L, 60000L, 60000L), time.sleepMillis());
    }

    @Test
    void retryAfterShorterThanTheTableDoesNotShortenIt() {
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", "0").build());
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", "1").build());
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(List.of(1000L, 2000L), time.sleepMillis());
    }

    @Test
    void retryAfterIsCappedAtSixtySeconds() {
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", "3600").build());
        imds.enqueue(ImdsServer.status(410).addHeader("Retry-After", "99999999999999999999").build());
        imds.enqueue(ImdsServer.metadataOk());

        client(() -> 0.99).callDeadline(Duration.ofMinutes(5)).build().platformMetadata(SAMI);

        assertEquals(List.of(60000L, 60000L), time.sleepMillis());
    }

    @Test
    void retryAfterAsAnHttpDateIsHonoured() {
        String in12s = DateTimeFormatter.RFC_1123_DATE_TIME.format(FakeTime.START.plusSeconds(12).atOffset(ZoneOffset.UTC));
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", in12s).build());
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(List.of(12000L), time.sleepMillis());
    }

    @Test
    void unparseableRetryAfterFallsBackToTheTable() {
        imds.enqueue(ImdsServer.status(503).addHeader("Retry-After", "soon").build());
        imds.enqueue(ImdsServer.metadataOk());

        client().platformMetadata(SAMI);

        assertEquals(List.of(1000L), time.sleepMillis());
    }

    @Test
    void retryAfterOnANonRetryableStatusDoesNotMakeItRetryable() {
        imds.enqueue(ImdsServer.status(400).addHeader("Retry-After", "1").build());

        assertThrows(ImdsException.class, () -> client().platformMetadata(SAMI));

        assertEquals(1, imds.requestCount());
    }

    @Test
    void connectionRefusedFailsAtOnceWithoutRetry() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closedPort;
        ImdsClient client = ImdsClient.builder().endpoint(endpoint).sleeper(time).time(time).build();

        ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(SAMI));

        assertEquals(-1, e.status());
        assertTrue(!e.retryable());
        assertEquals(List.of(), time.sleeps());
        assertInstanceOf(ConnectException.class, e.getCause());
        assertTrue(e.getMessage().contains("nothing listens at " + endpoint + " "), e.getMessage());
        assertTrue(e.getMessage().contains("MSI_AGENT_IMDS_ENDPOINT must name an IMDS emulator."), e.getMessage());
        assertEquals(1, e.getMessage().split("\\. |\\? ").length, "one sentence: " + e.getMessage());
        assertNotNull(e.clientRequestId());
    }

    @Test
    void aReadTimeoutIsRetried() {
        imds.enqueue(ImdsServer.status(200).onResponseStart(SocketEffect.Stall.INSTANCE).build());
        imds.enqueue(ImdsServer.metadataOk());
        ImdsClient client = client(() -> 0.0).readTimeout(Duration.ofMillis(300)).build();

        assertEquals("vm-1234", client.platformMetadata(SAMI).cuId().vmId());

        assertEquals(2, imds.requestCount());
        assertEquals(List.of(1000L), time.sleepMillis());
    }

    @Test
    void timeoutsForeverFailWithStatusMinusOneAsRetryable() {
        for (int i = 0; i < 4; i++) {
            imds.enqueue(ImdsServer.status(200).onResponseStart(SocketEffect.Stall.INSTANCE).build());
        }
        ImdsClient client = client(() -> 0.0).readTimeout(Duration.ofMillis(200)).build();

        ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(SAMI));

        assertEquals(4, imds.requestCount());
        assertEquals(-1, e.status());
        assertTrue(e.retryable());
        assertInstanceOf(SocketTimeoutException.class, e.getCause());
        assertTrue(e.getMessage().contains("after 4 attempts"), e.getMessage());
    }

    @Test
    void aResetConnectionIsRetried() {
        imds.enqueue(new MockResponse.Builder().onRequestStart(new SocketEffect.CloseSocket()).build());
        imds.enqueue(ImdsServer.metadataOk());

        assertEquals("vm-1234", client().platformMetadata(SAMI).cuId().vmId());

        assertEquals(List.of(1000L), time.sleepMillis());
    }

    @Test
    void aConnectionDroppedMidBodyIsRetried() {
        imds.enqueue(ImdsServer.status(200).body(ImdsServer.METADATA_JSON)
                .onResponseBody(new SocketEffect.CloseSocket(true, false, false)).build());
        imds.enqueue(ImdsServer.metadataOk());

        assertEquals("vm-1234", client().platformMetadata(SAMI).cuId().vmId());

        assertEquals(List.of(1000L), time.sleepMillis());
    }

    @Test
    void noBackOffStartsThatWouldPassTheDeadline() {
        imds.enqueue(503, 10);
        ImdsClient client = client(() -> 0.0).callDeadline(Duration.ofSeconds(5)).build();

        ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(SAMI));

        assertEquals(3, imds.requestCount(), "1 s + 2 s fit in 5 s, the next 4 s does not");
        assertEquals(List.of(1000L, 2000L), time.sleepMillis());
        assertEquals(503, e.status());
        assertTrue(e.retryable());
        assertTrue(e.getMessage().contains("call deadline of 5 s"), e.getMessage());
    }

    @Test
    void theDeadlineCutsAHangingAttemptShort() {
        imds.enqueue(ImdsServer.status(200).onResponseStart(SocketEffect.Stall.INSTANCE).build());
        ImdsClient client = ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time)
                .readTimeout(Duration.ofSeconds(60)).callDeadline(Duration.ofMillis(500)).build();
        long start = System.nanoTime();

        ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(SAMI));

        assertTrue(System.nanoTime() - start < Duration.ofSeconds(30).toNanos(), "the 60 s read timeout did not wait");
        assertEquals(-1, e.status());
        assertTrue(e.getMessage().contains("within the call deadline of 500 ms"), e.getMessage());
        assertEquals(1, imds.requestCount());
        assertEquals(List.of(), time.sleeps());
    }

    @Test
    void anInterruptedBackOffStopsAndKeepsTheInterruptFlag() {
        imds.enqueue(503, 2);
        ImdsClient client = ImdsClient.builder().endpoint(imds.endpoint()).time(time)
                .sleeper(d -> {
                    throw new InterruptedException("test");
                }).build();

        ImdsException e = assertThrows(ImdsException.class, () -> client.platformMetadata(SAMI));

        assertTrue(Thread.interrupted(), "interrupt flag restored (and cleared here)");
        assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
        assertEquals(1, imds.requestCount());
    }

    @Test
    void theRetryBudgetIsPerCall() {
        imds.enqueue(503, 3);
        imds.enqueue(ImdsServer.metadataOk());
        imds.enqueue(503, 3);
        imds.enqueue(ImdsServer.metadataOk());
        ImdsClient client = client();

        client.platformMetadata(SAMI);
        client.platformMetadata(SAMI);

        assertEquals(8, imds.requestCount());
        assertEquals(List.of(1000L, 2000L, 4000L, 1000L, 2000L, 4000L), time.sleepMillis());
    }
}
