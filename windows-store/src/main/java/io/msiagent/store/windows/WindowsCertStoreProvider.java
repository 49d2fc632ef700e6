package io.msiagent.store.windows;

import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.StoreOptions;

/** "windows-cng": {@code CurrentUser\My} + CNG keys. Supported only on Windows (decided without native code). */
public final class WindowsCertStoreProvider implements CredentialStoreProvider {
    @Override
    public String name() {
        return "windows-cng";
    }

    @Override
    public boolean isSupported() {
        return WinApi.isWindows();
    }

    /** {@code options.directory()} and {@code writePkcs12} do not apply: the store is the user's certificate store. */
    @Override
    public CredentialStore create(StoreOptions options) {
        if (!isSupported()) {
            throw new IllegalStateException("the windows-cng store exists only on Windows");
        }
        return new WindowsCertStore(JnaWindowsCrypto.shared(), options.clock());
    }
}
