package io.msiagent.store.linux;

import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.StoreOptions;
import java.nio.file.FileSystems;
import java.util.Locale;

/** Registers {@link LinuxCredentialStore}: supported on non-Windows systems with POSIX file attributes. */
public final class LinuxCredentialStoreProvider implements CredentialStoreProvider {
    @Override
    public String name() {
        return "linux-files";
    }

    @Override
    public boolean isSupported() {
        return !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")
                && FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    @Override
    public CredentialStore create(StoreOptions options) {
        return LinuxCredentialStore.open(options);
    }
}
