package io.msiagent.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code clear}: removes this identity's stored entry (and its quarantined files). Exit 0 also when nothing was stored. */
@Command(name = "clear", description = "Remove this identity's stored credential.")
final class ClearCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        Setup setup = new Setup(root);
        List<String> removed = setup.store().delete(setup.identity());
        if (!removed.isEmpty()) {
            AuditLog.beside(setup.auditDirectory()).append(setup.identity(), "cleared", null, "clear", "success", null, null);
        }
        if (root.json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("identity", setup.identity().toString());
            m.put("removed", removed);
            Output.printJson(root.io().out(), m);
        } else if (removed.isEmpty()) {
            root.io().out().println("nothing stored for " + setup.identity() + " at " + setup.store().location(setup.identity()));
        } else {
            removed.forEach(p -> root.io().out().println("removed " + p));
        }
        return ExitCodes.OK;
    }
}
