package io.msiagent.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/** {@code java -jar msi-agent.jar ...}: runs one command and exits with its code. */
public final class Main {
    /*
     * Subcommands are registered here rather than in @Command(subcommands = ...): picocli reflects
     * over every registered command when the CommandLine is built, and its classes (compiled for
     * Java 5) are never in a CDS archive, so building all nine costs a one-shot `status` more than
     * reading the store. Only the command being run is registered; a line naming no known command
     * (help, a typo) registers them all, for the usage text and "did you mean". A switch rather
     * than a map of constructor references, whose nine lambdas load every command's class before
     * the command line is parsed (`java -jar msi-agent.jar status`: 364 -> 345 ms median wall, 25
     * interleaved runs).
     */
    static final List<String> COMMANDS =
            List.of("acquire", "status", "renew", "clear", "run", "token", "doctor", "emulator", "demo");

    static Object newCommand(String name) {
        switch (name) {
            case "acquire": return new AcquireCommand();
            case "status": return new StatusCommand();
            case "renew": return new RenewCommand();
            case "clear": return new ClearCommand();
            case "run": return new RunCommand();
            case "token": return new TokenCommand();
            case "doctor": return new DoctorCommand();
            case "emulator": return new EmulatorCommand();
            case "demo": return new DemoCommand();
            default: throw new IllegalArgumentException("no command " + name);
        }
    }

    /** Global options that take a value in the next argument when written without '=' (a test keeps it in step with MsiAgentCommand). */
    static final Set<String> GLOBAL_OPTIONS_WITH_VALUE =
            Set.of("--imds-endpoint", "--store-dir", "--client-id", "--object-id", "--resource-id", "--trust-ca");

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
        String command = commandName(args);
        Logging.configure(args, command);
        MsiAgentCommand root = new MsiAgentCommand(io);
        CommandLine cl = newCommandLine(root, command);
        cl.setOut(new PrintWriter(io.out(), true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(io.err(), true, StandardCharsets.UTF_8));
        int code = cl.execute(args);
        io.out().flush();
        io.err().flush();
        return code;
    }

    /** The command the arguments name (the first word that is neither an option nor an option's value), or null. */
    static String commandName(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                return null;
            }
            if (a.startsWith("-")) {
                if (GLOBAL_OPTIONS_WITH_VALUE.contains(a)) {
                    i++;
                }
                continue;
            }
            return COMMANDS.contains(a) ? a : null;
        }
        return null;
    }

    /** The command line with {@code command} registered, or every command when it is null (usage text, suggestions). */
    private static CommandLine newCommandLine(MsiAgentCommand root, String command) {
        CommandLine cl = new CommandLine(root);
        if (command != null) {
            cl.addSubcommand(command, newCommand(command));
        } else {
            for (String name : COMMANDS) {
                cl.addSubcommand(name, newCommand(name));
            }
        }
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setAllowSubcommandsAsOptionParameters(true); // --store-dir status status: a directory may be named like a command
        cl.setParameterExceptionHandler((ex, argv) -> usageError(ex));
        cl.setExecutionStrategy(parseResult -> {
            rejectGlobalOptionsGivenTwice(parseResult);
            return new CommandLine.RunLast().execute(parseResult);
        });
        cl.setExecutionExceptionHandler((ex, failed, parseResult) -> Failures.report(ex, failed.getErr(), root.verbose));
        return cl;
    }

    /** One {@code error:} line: what is wrong, and the suggestion or where the usage is. */
    private static int usageError(CommandLine.ParameterException ex) {
        CommandLine failed = ex.getCommandLine();
        String hint = "run '" + failed.getCommandSpec().qualifiedName() + " --help' for usage";
        if (ex instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
            hint = "did you mean: " + String.join(" or ", unmatched.getSuggestions()) + "? (" + hint + ")";
        }
        String message = ex.getMessage().strip();
        failed.getErr().println("error: " + message + (message.endsWith(".") ? " " : "; ") + hint);
        failed.getErr().flush();
        return ExitCodes.USAGE;
    }

    /*
     * A global option may stand before or after the command, but only once: picocli checks repeats
     * within one command's arguments, not across the two sides of the command name.
     */
    private static void rejectGlobalOptionsGivenTwice(ParseResult root) {
        ParseResult sub = root.subcommand();
        if (sub == null) {
            return;
        }
        for (OptionSpec option : root.matchedOptions()) {
            if (sub.matchedOption(option.longestName()) == null) {
                continue;
            }
            throw new CommandLine.ParameterException(sub.commandSpec().commandLine(),
                    "option '" + option.longestName() + "' should be specified only once (before or after the command)");
        }
    }
}
