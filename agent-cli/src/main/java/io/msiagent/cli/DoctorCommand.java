package io.msiagent.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "doctor")
final class DoctorCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Override
    public Integer call() {
        return 0;
    }
}
