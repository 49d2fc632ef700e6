package io.msiagent.cli;

import io.msiagent.cli.emulator.EmulatedIdentity;
import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.EmulatorDurations;
import io.msiagent.cli.emulator.FaultRule;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MtlsCredential;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code emulator}: the IMDS v2 emulator in the foreground until Ctrl-C / SIGTERM. {@code --print-ca}
 * prints the CA certificate (PEM) and exits; with {@code --ca-dir} that is the CA later runs use.
 */
@Command(name = "emulator", description = "The IMDS v2 emulator in the foreground (loopback only).")
final class EmulatorCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Option(names = "--port", paramLabel = "P", description = "IMDS (plain HTTP) port on 127.0.0.1 (default 0: any free port).")
    int port;

    @Option(names = "--tls-port", paramLabel = "P", description = "Token endpoint (mutual TLS) port on 127.0.0.1 (default 0: any free port).")
    int tlsPort;

    @Option(names = "--cert-lifetime", paramLabel = "D", converter = DurationConverter.class,
            description = "Lifetime of issued certificates: 10s, 15m, 2h, 7d or ISO-8601 (default 7d, at least 10s).")
    Duration certLifetime;

    @Option(names = "--ca-dir", paramLabel = "DIR", description = "Keep the CA (ca.pem, ca-key.pem) here across runs, and with it the tenant and system-assigned identity"
            + " (default: a new CA per run).")
    Path caDir;

    @Option(names = "--print-ca", description = "Print the CA certificate (PEM) and exit.")
    boolean printCa;

    @Option(names = "--user-assigned", paramLabel = "SPEC",
            description = "Serve a user-assigned identity: clientId[,objectId[,resourceId]] or a name. Repeatable.")
    List<String> userAssigned = new ArrayList<>();

    @Option(names = "--fault", paramLabel = "SPEC",
            description = "Queue a fault, e.g. 'kind=status;status=503;path=issuecredential;count=2', 'kind=delay;delay=5s'. Repeatable.")
    List<String> faults = new ArrayList<>();

    @Option(names = "--require-attestation", description = "issuecredential refuses requests without an attestation token.")
    boolean requireAttestation;

    @Option(names = "--require-attestation-for-pop", description = "The token endpoint gives mtls_pop tokens only to attested certificates.")
    boolean requireAttestationForPop;

    @Override
    public Integer call() throws IOException {
        EmulatorCa fromDir = null;
        if (caDir != null) {
            try {
                fromDir = EmulatorCa.loadOrCreate(caDir, Clock.systemUTC()); // the user's directory: what is wrong there is theirs to fix
            } catch (IllegalStateException | java.io.UncheckedIOException e) {
                String why = e.getCause() != null ? " (" + e.getCause() + ")" : ""; // the exception's type: often its message is just the path
                throw new UsageException("--ca-dir " + caDir + ": " + e.getMessage() + why, e);
            }
        }
        if (printCa) {
            EmulatorCa ca = fromDir != null ? fromDir : EmulatorCa.generate(Clock.systemUTC());
            root.io().out().print(ca.caPem());
            root.io().out().flush();
            return ExitCodes.OK;
        }
        ImdsEmulator.runForeground(config(fromDir), root.io().out(), root.json);
        return ExitCodes.OK;
    }

    /** {@code keptCa}: the CA of {@code --ca-dir}, or null for a new CA per run. */
    EmulatorConfig config(EmulatorCa keptCa) {
        try {
            EmulatorConfig.Builder b = EmulatorConfig.builder().httpPort(port).tlsPort(tlsPort)
                    .requireAttestation(requireAttestation).requireAttestationForPop(requireAttestationForPop);
            if (certLifetime != null) {
                b.certLifetime(certLifetime);
            }
            if (caDir != null) {
                b.caDir(caDir);
            }
            if (keptCa != null) {
                // A CA kept across runs keeps its tenant and system-assigned identity too: a credential
                // stored against one run is still known to the token endpoint of the next.
                String seed = "msi-agent emulator " + MtlsCredential.x5tS256(keptCa.certificate()) + " ";
                b.tenantId(stableId(seed + "tenant"))
                        .systemAssigned(EmulatedIdentity.systemAssigned(stableId(seed + "client"), stableId(seed + "object")));
            }
            for (String spec : userAssigned) {
                b.addUserAssigned(EmulatedIdentity.parseUserAssigned(spec));
            }
            for (String spec : faults) {
                b.fault(FaultRule.parse(spec));
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    private static String stableId(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return EmulatorDurations.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
