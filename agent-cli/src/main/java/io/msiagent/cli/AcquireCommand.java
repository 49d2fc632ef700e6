package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.CredentialState;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.MtlsCredential;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code acquire}: the credential from the store, else IMDS. A credential past its renewAt is renewed
 * now; when that fails, the still valid one is served (exit 0) with a warning on stderr.
 */
@Command(name = "acquire", description = "The credential from memory, store or IMDS, as needed.")
final class AcquireCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        AuditLog audit = AuditLog.beside(setup.auditDirectory());
        long start = System.nanoTime();
        try (MsiCredentialCache cache = setup.newCache()) {
            MtlsCredential c = cache.get();
            Source source = setup.store().savedHere(c.x5tS256()) ? Source.IMDS : Source.STORE;
            String reason = null;
            if (c.stateAt(Instant.now()) == CredentialState.RENEW_DUE) {
                try {
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
            if (source == Source.IMDS) {
                warnIfAuditFailed(audit.append(setup.identity(), "issued", c, "acquire", "success",
                        Duration.ofNanos(System.nanoTime() - start), null));
            }
            Commands.printCredential(root, setup, c.stateAt(Instant.now()), source, c, reason);
            return ExitCodes.OK;
        }
    }

    private void warnIfAuditFailed(String problem) {
        if (problem != null) {
            root.io().err().println("warning: " + problem);
        }
    }
}
