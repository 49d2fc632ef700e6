package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line itself: where global options may stand, and what a usage error looks like. */
class CommandLineTest {
    @TempDir
    Path tmp;

    Cli cli;

    @BeforeEach
    void setUp() {
        cli = new Cli(null, tmp.resolve("certs"));
    }

    @Test
    void anOptionValueMayBeNamedLikeACommand() {
        Cli.Result r = cli.runExactly("--json", "--store-dir", "status", "status"); // a relative directory called "status"
        assertEquals(2, r.code(), r::toString);
        assertEquals(Path.of("status", "msal_mtls.pem").toAbsolutePath().toString(), r.json().get("store").asText());
    }

    @Test
    void globalOptionsStandBeforeOrAfterTheCommand() {
        String dir = cli.storeDir().toString();
        Cli.Result before = cli.runExactly("--json", "--store-dir", dir, "status");
        Cli.Result after = cli.runExactly("status", "--store-dir", dir, "--json");
        assertEquals(2, before.code(), before::toString);
        assertEquals(2, after.code(), after::toString);
        assertEquals(dir + "/msal_mtls.pem", before.json().get("store").asText());
        assertEquals(before.json(), after.json());
    }

    @Test
    void aGlobalOptionGivenOnBothSidesOfTheCommandIsAUsageError() {
        String dir = cli.storeDir().toString();
        for (String[] args : new String[][] {
                {"--json", "status", "--json"},
                {"--store-dir", dir, "status", "--store-dir", dir},
                {"--client-id", "a", "status", "--client-id", "b"},
                {"--json", "--json", "status"}}) {
            Cli.Result r = cli.runExactly(args);
            assertEquals(64, r.code(), r::toString);
            assertOneErrorLine(r);
            assertTrue(r.err().contains("should be specified only once"), r.err());
            assertEquals("", r.out(), "nothing on stdout for a usage error");
        }
    }

    @Test
    void aUsageErrorIsOneLineThatSaysWhatIsWrongAndWhereHelpIs() {
        Cli.Result typo = cli.runExactly("statsu");
        assertEquals(64, typo.code(), typo::toString);
        assertOneErrorLine(typo);
        assertTrue(typo.err().contains("'statsu'") && typo.err().contains("did you mean: status"), typo.err());

        Cli.Result unknownOption = cli.runExactly("status", "--frobnicate");
        assertEquals(64, unknownOption.code(), unknownOption::toString);
        assertOneErrorLine(unknownOption);
        assertTrue(unknownOption.err().contains("--frobnicate") && unknownOption.err().contains("msi-agent status --help"),
                unknownOption.err());

        Cli.Result missingValue = cli.runExactly("status", "--store-dir");
        assertEquals(64, missingValue.code(), missingValue::toString);
        assertOneErrorLine(missingValue);

        Cli.Result noCommand = cli.runExactly();
        assertEquals(64, noCommand.code(), noCommand::toString);
        assertOneErrorLine(noCommand);
        assertTrue(noCommand.err().contains("acquire, status, renew") && noCommand.err().contains("--help"), noCommand.err());

        for (String blank : new String[] {"", " "}) {
            Cli.Result blankEndpoint = cli.runExactly("acquire", "--imds-endpoint", blank);
            assertEquals(64, blankEndpoint.code(), blankEndpoint::toString);
            assertOneErrorLine(blankEndpoint);
            assertTrue(blankEndpoint.err().contains("--imds-endpoint is empty"), blankEndpoint.err());

            Cli.Result blankResource = cli.runExactly("token", "--resource", blank);
            assertEquals(64, blankResource.code(), blankResource::toString);
            assertOneErrorLine(blankResource);
            assertTrue(blankResource.err().contains("--resource"), blankResource.err());
        }
    }

    @Test
    void everyListedCommandIsMadeUnderItsOwnName() {
        // The names and the switch that makes each command are kept apart (the switch loads only the
        // class it needs): a name without its case, or a case under the wrong name, fails here.
        assertEquals(9, Main.COMMANDS.size());
        for (String name : Main.COMMANDS) {
            Object command = Main.newCommand(name);
            assertEquals(name, command.getClass().getAnnotation(picocli.CommandLine.Command.class).name(), name);
            assertEquals(name, Main.commandName(new String[] {name}));
        }
    }

    @Test
    void theCommandIsFoundPastGlobalOptionsAndTheirValues() {
        assertEquals("status", Main.commandName(new String[] {"--store-dir", "run", "status"}));
        assertEquals("token", Main.commandName(new String[] {"-v", "--imds-endpoint=http://x", "token", "--resource", "r"}));
        assertEquals("demo", Main.commandName(new String[] {"--json", "demo"}));
        assertNull(Main.commandName(new String[] {"--help"}));
        assertNull(Main.commandName(new String[] {"statsu"}));
        // Every command is still reachable and listed when none is named.
        Cli.Result help = cli.runExactly("--help");
        assertEquals(0, help.code(), help::toString);
        assertTrue(help.out().contains("doctor") && help.out().contains("emulator"), help.out());
    }

    @Test
    void theListOfGlobalOptionsWithAValueMatchesTheOptionsThemselves() {
        // commandName() skips the value of these options; an option added to MsiAgentCommand without it
        // would make the value look like the command.
        java.util.Set<String> withValue = new java.util.TreeSet<>();
        for (picocli.CommandLine.Model.OptionSpec o : new picocli.CommandLine(new MsiAgentCommand(Io.system())).getCommandSpec().options()) {
            if (o.arity().max() > 0 && !o.usageHelp() && !o.versionHelp()) {
                withValue.add(o.longestName());
            }
        }
        assertEquals(withValue, new java.util.TreeSet<>(Main.GLOBAL_OPTIONS_WITH_VALUE));
    }

    private static void assertOneErrorLine(Cli.Result r) {
        assertTrue(r.err().startsWith("error: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), "exactly one line on stderr: " + r.err());
    }
}
