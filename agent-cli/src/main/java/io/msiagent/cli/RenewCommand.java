package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.MtlsCredential;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code renew}: a new certificate from IMDS now; on failure the stored one stays untouched. */
@Command(name = "renew", description = "A new credential from IMDS now, even if the stored one is fresh.")
final class RenewCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        AuditLog audit = AuditLog.beside(setup.auditDirectory());
        long start = System.nanoTime();
        Commands.refuseAnotherVersionsEntry(setup, setup.store().inspect(setup.identity()));
        try (MsiCredentialCache cache = setup.newCache()) {
            MtlsCredential c;
            try {
                c = cache.refresh();
            } catch (MsiCredentialException e) {
                audit.append(setup.identity(), "renewal_failed", null, "renew", "failure", Duration.ofNanos(System.nanoTime() - start),
                        Failures.describe(e));
                throw e;
            }
            String notStored = setup.store().saveFailure(c.x5tS256());
            String problem = audit.append(setup.identity(), "renewed", c, "renew", notStored == null ? "success" : "failure",
                    Duration.ofNanos(System.nanoTime() - start), notStored == null ? null : "not persisted: " + notStored);
            if (problem != null) {
                root.io().err().println("warning: " + problem);
            }
            return Commands.printIssued(root, setup, c, Source.IMDS, null, notStored);
        }
    }
}
