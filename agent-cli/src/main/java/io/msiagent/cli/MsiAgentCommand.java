package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.imds.ImdsClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** {@code msi-agent [global options] COMMAND [options]}: the global options, shared by every command (the commands are registered by {@link Main}). */
@Command(name = "msi-agent", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true, versionProvider = Version.class,
        synopsisSubcommandLabel = "COMMAND", usageHelpAutoWidth = true,
        description = "Keeps this machine's MSI v2 PoP credential (an mTLS client certificate from IMDS) fresh in the store.",
        footer = {"", "Exit codes: 0 success; 1 status: renewal due, doctor: a check failed;",
                "  2 no usable credential; 3 IMDS, token endpoint or network failure;",
                "  4 store failure; 64 usage error."})
public final class MsiAgentCommand implements Callable<Integer> {
    static final String ENV_STORE_DIR = "MSI_AGENT_STORE_DIR";
    static final String ENV_TRUST_CA = "MSI_AGENT_TRUST_CA";
    static final String ENV_PKCS12 = "MSI_AGENT_PKCS12";

    @Spec
    CommandSpec spec;

    @Option(names = "--imds-endpoint", paramLabel = "URL", scope = ScopeType.INHERIT,
            description = "IMDS base URL (env MSI_AGENT_IMDS_ENDPOINT, else AZURE_POD_IDENTITY_AUTHORITY_HOST, else http://169.254.169.254).")
    String imdsEndpoint;

    @Option(names = "--store-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = "Credential store directory (env MSI_AGENT_STORE_DIR; Linux default $${XDG_CONFIG_HOME:-~/.config}/msal/certs).")
    Path storeDir;

    @Option(names = "--client-id", paramLabel = "ID", scope = ScopeType.INHERIT, description = "A user-assigned identity by client id.")
    String clientId;

    @Option(names = "--object-id", paramLabel = "ID", scope = ScopeType.INHERIT, description = "A user-assigned identity by object (principal) id.")
    String objectId;

    @Option(names = "--resource-id", paramLabel = "ID", scope = ScopeType.INHERIT, description = "A user-assigned identity by ARM resource id.")
    String resourceId;

    @Option(names = "--trust-ca", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "PEM CA certificate(s) trusted for the token endpoint, besides the JVM's (env MSI_AGENT_TRUST_CA).")
    Path trustCa;

    @Option(names = "--pkcs12", scope = ScopeType.INHERIT,
            description = "Linux: also keep msal_mtls.pfx (PKCS#12, empty password) beside the PEM, for Java KeyStore and .NET"
                    + " readers (env MSI_AGENT_PKCS12=1). An existing .pfx is kept up to date without it.")
    boolean pkcs12;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "One JSON object on stdout instead of text.")
    boolean json;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT, description = "Library logs and stack traces on stderr.")
    boolean verbose;

    private final Io io;

    MsiAgentCommand(Io io) {
        this.io = io;
    }

    Io io() {
        return io;
    }

    @Override
    public Integer call() {
        // one line, as every usage error (the contract's error: line); the commands are named, --help describes them
        io.err().println("error: no command given: one of " + String.join(", ", spec.subcommands().keySet())
                + " (msi-agent --help describes them)");
        return ExitCodes.USAGE;
    }

    /** The identity the options name; two of them is a usage error. Default: system-assigned. */
    ManagedIdentityId identity() {
        int given = (clientId != null ? 1 : 0) + (objectId != null ? 1 : 0) + (resourceId != null ? 1 : 0);
        if (given > 1) {
            throw new UsageException("give at most one of --client-id, --object-id, --resource-id");
        }
        try {
            if (clientId != null) {
                return ManagedIdentityId.clientId(clientId);
            }
            if (objectId != null) {
                return ManagedIdentityId.objectId(objectId);
            }
            if (resourceId != null) {
                return ManagedIdentityId.resourceId(resourceId);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
        return ManagedIdentityId.systemAssigned();
    }

    /** --imds-endpoint, else the environment, else http://169.254.169.254. */
    String imdsEndpoint() {
        if (imdsEndpoint != null && imdsEndpoint.isBlank()) {
            // as --store-dir: an empty option is a mistake, not a request for the default (an empty variable is unset)
            throw new UsageException("--imds-endpoint is empty: name an http(s) URL, or leave the option out for the default");
        }
        return ImdsClient.resolveEndpoint(imdsEndpoint, io.env());
    }

    /** --pkcs12, or MSI_AGENT_PKCS12 set to 1 or true. */
    boolean pkcs12() {
        String env = io.env().get(ENV_PKCS12);
        return pkcs12 || (env != null && (env.strip().equals("1") || env.strip().equalsIgnoreCase("true")));
    }

    /** --store-dir, else null (the store resolves MSI_AGENT_STORE_DIR / XDG_CONFIG_HOME / HOME from {@link Io#env()}). */
    Path storeDir() {
        if (storeDir != null && storeDir.toString().isBlank()) {
            // Path.of("") is the working directory, which the store would make private (0700) and fill
            throw new UsageException("--store-dir is empty: name a directory, or leave the option out for the default");
        }
        return storeDir;
    }

    /** The CA certificates of --trust-ca / MSI_AGENT_TRUST_CA (empty when neither is set). */
    List<X509Certificate> trustedCas() {
        Path file = trustCa;
        if (file == null) {
            String fromEnv = io.env().get(ENV_TRUST_CA);
            if (fromEnv == null || fromEnv.isBlank()) {
                return List.of();
            }
            file = Path.of(fromEnv.strip());
        }
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> cas = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                cas.add((X509Certificate) c);
            }
            if (cas.isEmpty()) {
                throw new UsageException("--trust-ca " + file + ": no PEM certificate in the file");
            }
            return cas;
        } catch (IOException e) {
            throw new UsageException("--trust-ca " + file + ": cannot read the file (" + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new UsageException("--trust-ca " + file + ": not PEM X.509 certificates (" + e.getMessage() + ")", e);
        }
    }
}
