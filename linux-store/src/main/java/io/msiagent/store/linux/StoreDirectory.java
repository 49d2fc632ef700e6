package io.msiagent.store.linux;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where the Linux store lives. Precedence: an explicit directory, then {@code MSI_AGENT_STORE_DIR},
 * then {@code $XDG_CONFIG_HOME/msal/certs}, then {@code $HOME/.config/msal/certs} (the {@code HOME}
 * variable, falling back to the {@code user.home} property). A pure function of its inputs so that
 * every branch is testable without touching the real environment.
 */
public final class StoreDirectory {
    public static final String STORE_DIR_VARIABLE = "MSI_AGENT_STORE_DIR";

    private StoreDirectory() {
    }

    /** The directory for this process: {@link #resolve} over the real environment. */
    public static Path resolveDefault(Path explicit) {
        return resolve(explicit, System.getenv(), System.getProperty("user.home"));
    }

    public static Path resolve(Path explicit, Map<String, String> environment, String userHome) {
        if (explicit != null) {
            return explicit.toAbsolutePath().normalize();
        }
        String storeDir = nonBlank(environment.get(STORE_DIR_VARIABLE));
        if (storeDir != null) {
            return Path.of(storeDir).toAbsolutePath().normalize();
        }
        // The XDG base directory spec says relative values are invalid and must be ignored.
        String xdg = nonBlank(environment.get("XDG_CONFIG_HOME"));
        if (xdg != null && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "msal", "certs").normalize();
        }
        String home = nonBlank(environment.get("HOME"));
        if (home == null) {
            home = nonBlank(userHome);
        }
        if (home == null) {
            throw new IllegalStateException("cannot place the credential store: neither " + STORE_DIR_VARIABLE
                    + ", XDG_CONFIG_HOME, HOME nor user.home is set; configure a store directory");
        }
        return Path.of(home, ".config", "msal", "certs").toAbsolutePath().normalize();
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
