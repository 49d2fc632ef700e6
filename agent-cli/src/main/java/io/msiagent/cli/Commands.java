package io.msiagent.cli;

import io.msiagent.cli.CredentialReport.Source;
import io.msiagent.core.CredentialState;
import io.msiagent.core.MtlsCredential;
import java.util.Map;

/** Printing shared by the credential commands. */
final class Commands {
    private Commands() {
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
