package io.msiagent.core.spi;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;

/**
 * How to open a store. {@code directory} null means the platform default (on Linux
 * {@code MSI_AGENT_STORE_DIR}, else {@code $XDG_CONFIG_HOME/msal/certs}, else
 * {@code $HOME/.config/msal/certs}). {@code writePkcs12} also writes a PKCS#12 file beside the PEM
 * where the platform has files.
 */
public record StoreOptions(Path directory, boolean writePkcs12, Clock clock) {
    public StoreOptions {
        Objects.requireNonNull(clock, "clock");
    }

    public static StoreOptions defaults() {
        return new StoreOptions(null, false, Clock.systemUTC());
    }

    public StoreOptions withDirectory(Path dir) {
        return new StoreOptions(dir, writePkcs12, clock);
    }

    public StoreOptions withPkcs12(boolean write) {
        return new StoreOptions(directory, write, clock);
    }

    public StoreOptions withClock(Clock c) {
        return new StoreOptions(directory, writePkcs12, c);
    }
}
