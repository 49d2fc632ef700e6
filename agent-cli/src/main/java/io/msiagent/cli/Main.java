package io.msiagent.cli;

import picocli.CommandLine;

/** {@code java -jar msi-agent.jar ...}: runs one command and exits with its code. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (used in-process by tests). */
    public static int run(String... args) {
        return newCommandLine().execute(args);
    }

    static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new MsiAgentCommand());
        cl.setParameterExceptionHandler((ex, argv) -> {
            CommandLine failed = ex.getCommandLine();
            failed.getErr().println("error: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, failed.getErr())) {
                failed.getErr().println("Run '" + failed.getCommandSpec().qualifiedName() + " --help' for usage.");
            }
            return ExitCodes.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, failed, parseResult) -> {
            MsiAgentCommand root = failed.getCommandSpec().root().userObject() instanceof MsiAgentCommand r ? r : null;
            return Failures.report(ex, failed.getErr(), root != null && root.verbose);
        });
        return cl;
    }
}
