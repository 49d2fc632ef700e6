package io.msiagent.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** {@code java -jar msi-agent.jar ...}: runs one command and exits with its code. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code = run(Io.system(), args);
        System.out.flush();
        System.exit(code);
    }

    /** Runs the command line against this process' streams and environment; returns the exit code. */
    public static int run(String... args) {
        return run(Io.system(), args);
    }

    /** Runs the command line with injected streams and environment (used in-process by tests). */
    public static int run(Io io, String... args) {
        Logging.configure(args);
        MsiAgentCommand root = new MsiAgentCommand(io);
        CommandLine cl = newCommandLine(root);
        cl.setOut(new PrintWriter(io.out(), true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(io.err(), true, StandardCharsets.UTF_8));
        int code = cl.execute(args);
        io.out().flush();
        io.err().flush();
        return code;
    }

    static CommandLine newCommandLine(MsiAgentCommand root) {
        CommandLine cl = new CommandLine(root);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, argv) -> {
            CommandLine failed = ex.getCommandLine();
            failed.getErr().println("error: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, failed.getErr())) {
                failed.getErr().println("Run '" + failed.getCommandSpec().qualifiedName() + " --help' for usage.");
            }
            failed.getErr().flush();
            return ExitCodes.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, failed, parseResult) -> Failures.report(ex, failed.getErr(), root.verbose));
        return cl;
    }
}
