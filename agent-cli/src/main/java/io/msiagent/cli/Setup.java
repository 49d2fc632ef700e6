package io.msiagent.cli;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.StoreOptions;
import io.msiagent.imds.ImdsClient;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.store.linux.LinuxCredentialStoreProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ServiceLoader;

/** Builds the store, the IMDS client and the credential cache that a command's options describe. */
final class Setup {
    private final MsiAgentCommand options;
    private final ManagedIdentityId identity;
    private final ObservedStore store;

    Setup(MsiAgentCommand options) {
        this.options = options;
        this.identity = options.identity();
        this.store = new ObservedStore(openStore(options.storeDir(), options.io(), options.pkcs12()));
    }

    ManagedIdentityId identity() {
        return identity;
    }

    ObservedStore store() {
        return store;
    }

    /** The directory of the Linux store, or null on a platform whose store is not a directory. */
    Path storeDirectory() {
        return store.delegate() instanceof LinuxCredentialStore linux ? linux.directory() : null;
    }

    /**
     * Where the audit log lives: beside the store on Linux, {@code %LOCALAPPDATA%\\msi-agent} where the
     * store is not a directory (Windows); null when neither is known.
     */
    Path auditDirectory() {
        Path dir = storeDirectory();
        if (dir != null) {
            return dir;
        }
        String localAppData = options.io().env().get("LOCALAPPDATA");
        if (localAppData == null || localAppData.isBlank()) {
            return null;
        }
        Path d = Path.of(localAppData, "msi-agent");
        try {
            java.nio.file.Files.createDirectories(d);
        } catch (java.io.IOException e) {
            return null;
        }
        return d;
    }

    ImdsClient imdsClient() {
        return build(ImdsClient.builder().endpoint(options.imdsEndpoint()));
    }

    /** A malformed endpoint (--imds-endpoint or the environment) is the user's to fix: a usage error, exit 64. */
    private static ImdsClient build(ImdsClient.Builder imds) {
        try {
            return imds.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage() + " (--imds-endpoint, else MSI_AGENT_IMDS_ENDPOINT, else"
                    + " AZURE_POD_IDENTITY_AUTHORITY_HOST)", e);
        }
    }

    /** A cache with imds-client's whole retry budget (90 s per IMDS call) and the store's default lock wait. */
    MsiCredentialCache newCache() {
        return cacheBuilder(imdsClient()).build();
    }

    /**
     * A cache whose IMDS calls each end within {@code callDeadline} (retries and back-off included)
     * and which waits at most {@code lockWait} for the store lock: for a renewal that may give up
     * because a valid credential is there to serve.
     */
    MsiCredentialCache newBoundedCache(Duration callDeadline, Duration lockWait) {
        ImdsClient bounded = build(ImdsClient.builder().endpoint(options.imdsEndpoint()).callDeadline(callDeadline));
        return cacheBuilder(bounded).lockWait(lockWait).build();
    }

    private MsiCredentialCache.Builder cacheBuilder(ImdsClient imds) {
        return MsiCredentialCache.builder()
                .identity(identity)
                .store(store)
                .imdsClient(imds)
                .trustedCertificates(options.trustedCas());
    }

    /**
     * The platform store: on Linux the file store, built here so that it resolves its default
     * directory from the injected environment; elsewhere the first supported provider.
     */
    static CredentialStore openStore(Path directory, Io io, boolean pkcs12) {
        for (CredentialStoreProvider provider : ServiceLoader.load(CredentialStoreProvider.class)) {
            if (!provider.isSupported()) {
                continue;
            }
            if (provider instanceof LinuxCredentialStoreProvider) {
                return LinuxCredentialStore.builder().directory(directory).environment(io.env()).writePkcs12(pkcs12).build();
            }
            return provider.create(StoreOptions.defaults().withDirectory(directory).withPkcs12(pkcs12));
        }
        throw new io.msiagent.core.StoreException(String.valueOf(directory), "no credential store is supported on this platform ("
                + System.getProperty("os.name") + ")");
    }
}
