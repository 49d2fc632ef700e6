package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.cli.emulator.EmulatorPath;
import io.msiagent.cli.emulator.Fault;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.CertificateValidationException;
import io.msiagent.core.IssuanceException;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.TokenAcquisitionException;
import io.msiagent.imds.ImdsException;
import io.msiagent.imds.ImdsV1OnlyException;
import io.msiagent.imds.MalformedResponseException;
import io.msiagent.imds.TokenEndpointException;
import io.msiagent.tests.child.Stack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every emulator fault × two starting states. With a valid credential, callers are never failed
 * and the store keeps it (same thumbprint on disk, and a restarted process is served from it).
 * Without one, the error is typed (which core exception, which imds cause) and its message names
 * the cause. A fault the client is meant to tolerate ({@code error == null}) must let the call succeed.
 * IMDS retries run the whole retry table without back-off waits (no-op Sleeper).
 */
@Timeout(60)
class ImdsFaultMatrixTest {
    private static final String RESOURCE = "https://management.azure.com";
    /** More than any retry budget (410 allows 8 attempts). */
    private static final int PERSISTENT = 30;
    /** Longer than any IMDS table delay with its jitter (4 s + 20 %), so that a wait this long is the header's doing. */
    private static final Duration RETRY_AFTER = Duration.ofSeconds(9);
    /**
     * Longer than the token endpoint's one table delay with its jitter (1 s + 20 %). The cache's token
     * client sleeps for real (no Sleeper to inject), so the wait is read from how long the call took.
     */
    private static final Duration TOKEN_RETRY_AFTER = Duration.ofSeconds(3);
    private static final Duration TOKEN_READ_TIMEOUT = Duration.ofSeconds(2);

    /** One fault, where it is injected, and what a caller without a credential must get. */
    record Case(String name, EmulatorPath path, Fault fault, Class<? extends MsiCredentialException> error,
            Class<? extends Exception> cause, String messageNames) {
        boolean onTokenEndpoint() {
            return path == EmulatorPath.TOKEN;
        }

        /**
         * The endpoint names the certificate as the problem (invalid_client, or a TLS alert refusing it):
         * the cache re-issues it once before it gives up.
         */
        boolean reissues() {
            return fault.kind() == Fault.Kind.INVALID_CLIENT || fault.kind() == Fault.Kind.TLS_REFUSAL;
        }

        /**
         * A retry must wait for the fault's Retry-After. The token endpoint retries 5xx only (protocol §6.7),
         * so its 429 is not retried and its Retry-After delays nothing.
         */
        boolean retryWaitsForRetryAfter() {
            return fault.retryAfter() != null && (!onTokenEndpoint() || fault.status() >= 500);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        EmulatorPath pm = EmulatorPath.PLATFORM_METADATA;
        EmulatorPath ic = EmulatorPath.ISSUE_CREDENTIAL;
        EmulatorPath tk = EmulatorPath.TOKEN;
        Class<IssuanceException> iss = IssuanceException.class;
        Class<CertificateValidationException> cv = CertificateValidationException.class;
        List<Case> c = new ArrayList<>();
        c.add(new Case("metadata 404 (IMDS v1 only)", pm, Fault.status(404), iss, ImdsV1OnlyException.class, "IMDS v1 only"));
        c.add(new Case("issuecredential 404", ic, Fault.status(404), iss, ImdsException.class, "404"));
        c.add(new Case("metadata 410", pm, Fault.status(410), iss, ImdsException.class, "410"));
        c.add(new Case("issuecredential 410", ic, Fault.status(410), iss, ImdsException.class, "410"));
        c.add(new Case("metadata 429", pm, Fault.status(429), iss, ImdsException.class, "429"));
        c.add(new Case("issuecredential 429 Retry-After", ic, Fault.status(429, RETRY_AFTER), iss, ImdsException.class, "429"));
        c.add(new Case("metadata 503 Retry-After", pm, Fault.status(503, RETRY_AFTER), iss, ImdsException.class, "503"));
        c.add(new Case("issuecredential 503 Retry-After", ic, Fault.status(503, RETRY_AFTER), iss, ImdsException.class, "503"));
        c.add(new Case("metadata 500", pm, Fault.status(500), iss, ImdsException.class, "500"));
        c.add(new Case("issuecredential 500", ic, Fault.status(500), iss, ImdsException.class, "500"));
        c.add(new Case("metadata 503", pm, Fault.status(503), iss, ImdsException.class, "503"));
        c.add(new Case("issuecredential 503", ic, Fault.status(503), iss, ImdsException.class, "503"));
        c.add(new Case("metadata delay beyond read timeout", pm, Fault.delay(Duration.ofMillis(2500)), iss, ImdsException.class, "no reply"));
        c.add(new Case("issuecredential delay beyond read timeout", ic, Fault.delay(Duration.ofMillis(2500)), iss, ImdsException.class, "no reply"));
        c.add(new Case("metadata garbage body", pm, Fault.garbageJson(), iss, MalformedResponseException.class, "platformmetadata"));
        c.add(new Case("issuecredential garbage body", ic, Fault.garbageJson(), iss, MalformedResponseException.class, "issuecredential"));
        c.add(new Case("metadata truncated body", pm, Fault.truncatedJson(), iss, MalformedResponseException.class, "platformmetadata"));
        c.add(new Case("issuecredential truncated body", ic, Fault.truncatedJson(), iss, MalformedResponseException.class, "issuecredential"));
        c.add(new Case("metadata huge body", pm, Fault.hugeBody(3L << 20), iss, MalformedResponseException.class, "platformmetadata"));
        c.add(new Case("issuecredential huge body", ic, Fault.hugeBody(3L << 20), iss, MalformedResponseException.class, "issuecredential"));
        // Every field imds-client requires (ImdsReplies, TokenReplies; protocol §1.3, §1.4, §6.5), one case each.
        for (String field : List.of("clientId", "tenantId", "cuId", "attestationEndpoint")) {
            c.add(new Case("metadata missing " + field, pm, Fault.missingFields(field), iss, MalformedResponseException.class,
                    "'" + field + "' is missing"));
        }
        for (String field : List.of("client_id", "tenant_id", "certificate", "identity_type", "mtls_authentication_endpoint")) {
            c.add(new Case("issuecredential missing " + field, ic, Fault.missingFields(field), iss, MalformedResponseException.class,
                    "'" + field + "' is missing"));
        }
        c.add(new Case("metadata wrong Server header", pm, Fault.wrongServerHeader(), iss, ImdsException.class, "Server"));
        // Protocol §: only getplatformmetadata's Server header is checked (MSAL.NET's rule); issuecredential's is not.
        c.add(new Case("issuecredential wrong Server header (tolerated)", ic, Fault.wrongServerHeader(), null, null, null));
        c.add(new Case("metadata missing Server header", pm, Fault.missingServerHeader(), iss, ImdsException.class, "Server"));
        c.add(new Case("issuecredential missing Server header (tolerated)", ic, Fault.missingServerHeader(), null, null, null));
        c.add(new Case("certificate for another key", ic, Fault.certificateForOtherKey(), cv, null, "key"));
        c.add(new Case("expired certificate", ic, Fault.expiredCertificate(), cv, null, "expired"));
        c.add(new Case("future-dated certificate", ic, Fault.futureCertificate(), cv, null, "not valid before"));
        c.add(new Case("metadata dropped connection", pm, Fault.dropConnection(), iss, ImdsException.class, "no reply"));
        c.add(new Case("issuecredential dropped connection", ic, Fault.dropConnection(), iss, ImdsException.class, "no reply"));
        c.add(new Case("token endpoint invalid_client", tk, Fault.invalidClient(), TokenAcquisitionException.class, TokenEndpointException.class, "invalid_client"));
        c.add(new Case("token endpoint refuses the client certificate (TLS)", tk, Fault.tlsRefusal(), TokenAcquisitionException.class, TokenEndpointException.class, "no reply"));
        c.add(new Case("token endpoint 503", tk, Fault.status(503), TokenAcquisitionException.class, TokenEndpointException.class, "503"));
        c.add(new Case("token endpoint 503 Retry-After", tk, Fault.status(503, TOKEN_RETRY_AFTER), TokenAcquisitionException.class,
                TokenEndpointException.class, "503"));
        c.add(new Case("token endpoint 429 Retry-After", tk, Fault.status(429, Duration.ofSeconds(1)), TokenAcquisitionException.class,
                TokenEndpointException.class, "429"));
        c.add(new Case("token endpoint delay beyond read timeout", tk, Fault.delay(TOKEN_READ_TIMEOUT.multipliedBy(2)),
                TokenAcquisitionException.class, TokenEndpointException.class, "no reply"));
        c.add(new Case("token endpoint dropped connection", tk, Fault.dropConnection(), TokenAcquisitionException.class,
                TokenEndpointException.class, "no reply"));
        c.add(new Case("token endpoint garbage body", tk, Fault.garbageJson(), TokenAcquisitionException.class, TokenEndpointException.class, "not valid JSON"));
        c.add(new Case("token endpoint truncated body", tk, Fault.truncatedJson(), TokenAcquisitionException.class, TokenEndpointException.class, "truncated"));
        c.add(new Case("token endpoint huge body", tk, Fault.hugeBody(3L << 20), TokenAcquisitionException.class, TokenEndpointException.class, "larger than"));
        c.add(new Case("token endpoint missing access_token", tk, Fault.missingFields("access_token"), TokenAcquisitionException.class,
                TokenEndpointException.class, "'access_token' is missing"));
        c.add(new Case("token endpoint missing token_type", tk, Fault.missingFields("token_type"), TokenAcquisitionException.class,
                TokenEndpointException.class, "no token_type"));
        // The expiry is required as either expires_in or expires_on; the emulator sends expires_in only.
        c.add(new Case("token endpoint missing expires_in and expires_on", tk, Fault.missingFields("expires_in", "expires_on"),
                TokenAcquisitionException.class, TokenEndpointException.class, "neither 'expires_in' nor 'expires_on'"));
        return c;
    }

    static Stream<Arguments> withoutCredential() {
        return cases().stream().map(Arguments::of);
    }

    static Stream<Arguments> withValidCredential() {
        return cases().stream().map(Arguments::of);
    }

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "no credential: {0}")
    @MethodSource("withoutCredential")
    void withoutACredentialTheErrorIsTypedAndNamesTheCause(Case c) {
        List<Duration> waits = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1));
                MsiCredentialCache cache = cache(emu, waits)) {
            emu.faults().next(c.path(), PERSISTENT, c.fault());
            if (c.error() == null) {
                assertEquals(cache.get().x5tS256(), Proof.storedX5t(tmp), "tolerated: issued and persisted");
                assertTrue(emu.stats().faultsInjected(c.path()) >= 1, "the fault was exercised");
                return;
            }
            MsiCredentialException e;
            long started = System.nanoTime();
            if (c.onTokenEndpoint()) {
                e = assertThrows(MsiCredentialException.class, () -> cache.acquireToken(RESOURCE));
            } else {
                e = assertThrows(MsiCredentialException.class, cache::get);
                assertNull(Proof.storedX5t(tmp), "nothing was persisted");
            }
            assertInstanceOf(c.error(), e, () -> describe(e));
            if (c.cause() != null) {
                assertInstanceOf(c.cause(), e.getCause(), () -> describe(e));
            }
            assertTrue(e.getMessage().contains(c.messageNames()), () -> "the message names the cause (" + c.messageNames() + "): " + describe(e));
            assertTrue(!e.getMessage().matches("(?s).*[^.]\\.\\.(\\s.*|$)") && !e.getMessage().matches("(?s).*(Check network access).*\\1.*"),
                    () -> "no doubled period, no advice twice: " + e.getMessage());
            assertTrue(emu.stats().faultsInjected(c.path()) >= 1, "the fault was exercised");
            Duration retryAfter = c.fault().retryAfter();
            if (c.retryWaitsForRetryAfter() && !c.onTokenEndpoint()) {
                assertTrue(waits.stream().anyMatch(w -> w.compareTo(retryAfter) >= 0),
                        () -> "a retry waited for the server's Retry-After " + retryAfter + ": " + waits);
            } else if (c.retryWaitsForRetryAfter()) {
                Duration took = Duration.ofNanos(System.nanoTime() - started);
                assertTrue(took.compareTo(retryAfter) >= 0,
                        () -> "the token retry waited for the server's Retry-After " + retryAfter + ": the call took " + took);
            }
        }
    }

    /** IMDS retries record their waits instead of sleeping; token-endpoint attempts time out after TOKEN_READ_TIMEOUT. */
    private MsiCredentialCache cache(ImdsEmulator emu, List<Duration> waits) {
        return Proof.fastCache(emu, tmp)
                .imdsClient(io.msiagent.imds.ImdsClient.builder().endpoint(emu.imdsEndpoint()).connectTimeout(Duration.ofSeconds(1))
                        .readTimeout(Duration.ofSeconds(1)).callDeadline(Duration.ofSeconds(20)).sleeper(waits::add).build())
                .tokenReadTimeout(TOKEN_READ_TIMEOUT).build();
    }

    @ParameterizedTest(name = "valid credential: {0}")
    @MethodSource("withValidCredential")
    void withAValidCredentialCallersAreNeverFailedAndTheStoreKeepsIt(Case c) throws InterruptedException {
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1));
                MsiCredentialCache cache = cache(emu, new java.util.concurrent.CopyOnWriteArrayList<>())) {
            MtlsCredential before = cache.get();
            io.msiagent.imds.AccessToken cachedToken = c.onTokenEndpoint() ? cache.acquireToken(RESOURCE) : null;
            emu.faults().next(c.path(), PERSISTENT, c.fault());
            if (c.error() == null) {
                MtlsCredential renewed = cache.refresh();
                assertEquals(renewed.x5tS256(), Proof.storedX5t(tmp), "tolerated: renewed and persisted");
                assertTrue(emu.stats().faultsInjected(c.path()) >= 1, "the fault was exercised");
                return;
            }

            // callers keep calling get() while the failing renewal runs: none of them may fail or wait for IMDS
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong servedCalls = new java.util.concurrent.atomic.AtomicLong();
            java.util.List<String> callerFailures = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch callerRunning = new java.util.concurrent.CountDownLatch(1);
            Thread caller = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        if (before.x5tS256().equals(cache.get().x5tS256()) || c.onTokenEndpoint()) {
                            servedCalls.incrementAndGet();
                        } else {
                            callerFailures.add("served another credential");
                        }
                    } catch (RuntimeException ex) {
                        callerFailures.add(ex.toString());
                    }
                    callerRunning.countDown();
                }
            }, "caller");
            caller.start();
            // A failure that is not retried ends in milliseconds: without this the caller might not have started yet.
            assertTrue(callerRunning.await(10, java.util.concurrent.TimeUnit.SECONDS), "the concurrent caller runs");
            MsiCredentialException thrown;
            try {
                thrown = assertThrows(MsiCredentialException.class,
                        c.onTokenEndpoint() ? () -> cache.acquireToken(RESOURCE + "/other") : cache::refresh,
                        "the failed operation itself reports the failure");
            } finally {
                stop.set(true);
                try {
                    caller.join(10_000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
            MsiCredentialException e = thrown;
            assertInstanceOf(c.error(), e, () -> describe(e));
            assertEquals(List.of(), callerFailures, "no concurrent caller failed");
            assertTrue(servedCalls.get() > 0, "callers were served during the failure");

            MtlsCredential current = cache.get();
            assertTrue(current.notAfter().isAfter(java.time.Instant.now()), "a valid credential is served");
            assertTrue(Stack.keyMatchesCertificate(current));
            String stored = Proof.storedX5t(tmp);
            assertNotNull(stored);
            if (!c.onTokenEndpoint()) {
                assertEquals(before.x5tS256(), current.x5tS256(), "callers keep the credential the failed renewal would have replaced");
                assertEquals(before.x5tS256(), stored, "the store keeps it (same thumbprint on disk)");
                assertEquals(before.x5tS256(), cache.acquireToken(RESOURCE).x5tS256(), "cached tokens keep working");
                try (MsiCredentialCache restarted = Proof.fastCache(emu, tmp).build()) {
                    assertEquals(before.x5tS256(), restarted.get().x5tS256(), "a restarted process is served from the store despite the fault");
                }
            } else if (c.reissues()) {
                assertEquals(2, emu.stats().certificatesIssued(), "the rejected certificate was re-issued once");
                assertEquals(current.x5tS256(), stored, "the re-issued credential is served and stored");
            } else {
                assertEquals(before.x5tS256(), current.x5tS256(), "a token-endpoint failure does not replace the credential");
                assertEquals(before.x5tS256(), stored, "the store keeps it");
                assertSame(cachedToken, cache.acquireToken(RESOURCE), "a token cached before the fault is still served (no call)");
            }
        }
    }

    private static String describe(Throwable e) {
        return e.getClass().getName() + ": " + e.getMessage() + (e.getCause() != null ? " / cause " + e.getCause().getClass().getName() + ": " + e.getCause().getMessage() : "");
    }
}
