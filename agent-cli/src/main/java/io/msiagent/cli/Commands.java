package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.CredentialState;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import java.util.Map;

/** Printing shared by the credential commands. */
final class Commands {
    private Commands() {
    }

    /**
     * Prints what acquire or renew obtained. A certificate issued here that the store refused is of
     * no use after this process (its key dies with it; the file at {@code store} holds another one):
     * the report says so, and so does one {@code error:} line and exit 4.
     */
    static int printIssued(MsiAgentCommand root, Setup setup, MtlsCredential c, Source source, String reason, String notStored) {
        String why = notStored == null ? reason : "not persisted: " + notStored;
        printCredential(root, setup, c.stateAt(java.time.Instant.now()), source, c, why);
        if (notStored == null) {
            return ExitCodes.OK;
        }
        root.io().err().println("error: the credential issued by IMDS (x5t#S256 " + c.x5tS256() + ") could not be stored: " + notStored);
        return ExitCodes.STORE_FAILURE;
    }

    /**
     * Refuses, before anything is issued, to work on an entry another msi-agent version keeps: this
     * version may not replace it, so a certificate issued now would die with this process (each such
     * call one more issuance at IMDS for nothing).
     */
    static void refuseAnotherVersionsEntry(Setup setup, LoadResult stored) {
        if (stored.isLeftInPlace()) {
            throw new StoreException(setup.store().location(setup.identity()), "held by another msi-agent version ("
                    + stored.problem() + "); this one neither reads nor replaces it, so nothing was issued: run that version,"
                    + " or give this one its own --store-dir");
        }
    }

    static void printCredential(MsiAgentCommand root, Setup setup, CredentialState state, Source source, MtlsCredential c,
            String reason) {
        Map<String, Object> report = CredentialReport.of(setup.identity(), state, source, c,
                setup.store().location(setup.identity()), reason);
        if (root.json) {
            Output.printJson(root.io().out(), report);
        } else {
            Output.printText(root.io().out(), report);
        }
    }
}
