package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.CredentialState;
import io.msiagent.core.CredentialUnavailableException;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code acquire}: the credential from the store, else IMDS. A credential past its renewAt is renewed
 * now; when that fails, the still valid one is served (exit 0) with a warning on stderr.
 *
 * <p>That renewal is bounded: a person or script holding a valid credential should not wait out
 * imds-client's whole budget (90 s per call, which timeouts or a long Retry-After can use up). Each
 * IMDS call of the renewal gets {@link #RENEWAL_CALL_DEADLINE}: the retry table's first two retries
 * (after 1 s and 2 s, at most 3.6 s with jitter) fit, the third (4 s later) does not; a healthy
 * IMDS answers in well under a second. With the two calls of a renewal and at most
 * {@link #RENEWAL_LOCK_WAIT} for a store lock another process holds (the agent renewing), the
 * attempt ends within about 15 s. Without a valid credential there is nothing to fall back on, so
 * IMDS gets the full budget.
 */
@Command(name = "acquire", description = {"The credential from memory, store or IMDS, as needed.",
        "A stored credential due for renewal is renewed now; if IMDS fails, each IMDS call gives up after 5 s (about 15 s in all,"
                + " store lock wait included) and the still valid credential is served: exit 0, source store, one warning line."
                + " Without a valid credential IMDS gets its full retry budget."})
final class AcquireCommand implements Callable<Integer> {
    static final Duration RENEWAL_CALL_DEADLINE = Duration.ofSeconds(5);
    static final Duration RENEWAL_LOCK_WAIT = Duration.ofSeconds(5);

    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        AuditLog audit = AuditLog.beside(setup.auditDirectory());
        long start = System.nanoTime();
        // A credential due for renewal is read first, so that no cache with the full budget (whose
        // timers would start renewing it at once) is ever built for it.
        LoadResult stored = setup.store().inspect(setup.identity());
        Commands.refuseAnotherVersionsEntry(setup, stored);
        MtlsCredential c = dueForRenewal(stored);
        Source source = Source.STORE;
        if (c == null) {
            try (MsiCredentialCache cache = setup.newCache()) {
                c = decoded(cache, cache.get());
            }
            source = setup.store().savedHere(c.x5tS256()) ? Source.IMDS : Source.STORE;
        }
        String reason = null;
        if (source == Source.STORE && c.stateAt(Instant.now()) == CredentialState.RENEW_DUE) {
            try (MsiCredentialCache cache = setup.newBoundedCache(RENEWAL_CALL_DEADLINE, RENEWAL_LOCK_WAIT)) {
                c = cache.refresh();
                source = Source.IMDS;
            } catch (MsiCredentialException e) {
                if (!Instant.now().isBefore(c.notAfter())) {
                    throw e;
                }
                reason = "renewal failed, serving the stored credential until " + c.notAfter() + ": " + Failures.describe(e);
                root.io().err().println("warning: " + reason);
                warnIfAuditFailed(audit.append(setup.identity(), "renewal_failed", c, "acquire", "failure", null,
                        Failures.describe(e)));
            }
        }
        String notStored = source == Source.IMDS ? setup.store().saveFailure(c.x5tS256()) : null;
        if (source == Source.IMDS) {
            warnIfAuditFailed(audit.append(setup.identity(), "issued", c, "acquire", notStored == null ? "success" : "failure",
                    Duration.ofNanos(System.nanoTime() - start), notStored == null ? null : "not persisted: " + notStored));
        }
        return Commands.printIssued(root, setup, c, source, reason, notStored);
    }

    /**
     * {@code c}, decoded. A stored credential is served before the JDK decodes it, and the cache
     * replaces one the JDK refuses in the background; this command closes its cache at once, so it
     * waits for that replacement (or has one made) instead.
     */
    private static MtlsCredential decoded(MsiCredentialCache cache, MtlsCredential c) {
        try {
            c.certificate();
            return c;
        } catch (CredentialUnavailableException undecodable) {
            return cache.refresh();
        }
    }

    /** The stored credential when it is due for renewal and still valid; otherwise null. */
    private static MtlsCredential dueForRenewal(LoadResult r) {
        MtlsCredential stored = r.credential().orElse(null);
        return stored != null && stored.stateAt(Instant.now()) == CredentialState.RENEW_DUE ? stored : null;
    }

    private void warnIfAuditFailed(String problem) {
        if (problem != null) {
            root.io().err().println("warning: " + problem);
        }
    }
}
