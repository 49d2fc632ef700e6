package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.CredentialState;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.store.linux.PermissionFinding;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code status}: what the store holds, read with {@code inspect} (never writes, never repairs,
 * never calls the network). Exit 0 FRESH, 1 RENEW_DUE, 2 EXPIRED/MISSING/INVALID (a corrupt entry),
 * 4 when the store itself cannot be used (see {@link StoreAccess}): the report is still printed,
 * with state INVALID, and one {@code error:} line names the path and the problem. A too-open mode
 * is a {@code warning:} line; it leaves the exit code alone.
 */
@Command(name = "status", description = {"What is stored, without any network call.",
        "Exit 0 FRESH, 1 RENEW_DUE, 2 EXPIRED, MISSING or INVALID (a corrupt entry), 4 the store path itself is unusable."})
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        Instant now = Instant.now();
        LoadResult r;
        try {
            for (PermissionFinding warning : StoreAccess.requireReadable(setup.store().delegate(), setup.identity())) {
                // status repairs nothing: it says what the next acquire repairs (a too-open mode)
                root.io().err().println("warning: " + warning.path() + ": " + warning.problem());
            }
            r = setup.store().inspect(setup.identity());
        } catch (StoreException e) {
            Commands.printCredential(root, setup, CredentialState.INVALID, null, null, e.getMessage());
            root.io().err().println("error: " + e.getMessage());
            return ExitCodes.STORE_FAILURE;
        }
        switch (r.kind()) {
            case FOUND: {
                MtlsCredential c = r.credential().orElseThrow();
                CredentialState state = c.stateAt(now);
                Commands.printCredential(root, setup, state, Source.STORE, c, describe(c, state, now));
                return switch (state) {
                    case FRESH -> ExitCodes.OK;
                    case RENEW_DUE -> ExitCodes.RENEW_DUE_OR_CHECK_FAILED;
                    default -> ExitCodes.NO_USABLE_CREDENTIAL;
                };
            }
            case INVALID:
                Commands.printCredential(root, setup, CredentialState.INVALID, null, null, r.problem());
                return ExitCodes.NO_USABLE_CREDENTIAL;
            default:
                Commands.printCredential(root, setup, CredentialState.MISSING, null, null,
                        r.problem() != null ? r.problem() : "no credential stored for " + setup.identity() + " at "
                                + setup.store().location(setup.identity()));
                return ExitCodes.NO_USABLE_CREDENTIAL;
        }
    }

    static String describe(MtlsCredential c, CredentialState state, Instant now) {
        return switch (state) {
            case FRESH -> "valid for " + Durations.human(Duration.between(now, c.notAfter())) + "; renewal due in "
                    + Durations.human(Duration.between(now, c.renewAt()));
            case RENEW_DUE -> "renewal due since " + c.renewAt() + "; still valid for "
                    + Durations.human(Duration.between(now, c.notAfter()));
            default -> "expired at " + c.notAfter();
        };
    }
}
