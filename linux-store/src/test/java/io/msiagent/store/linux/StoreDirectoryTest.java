package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StoreDirectoryTest {
    private static final Map<String, String> ALL = Map.of(
            "MSI_AGENT_STORE_DIR", "/srv/msi", "XDG_CONFIG_HOME", "/xdg", "HOME", "/home/u");

    @Test
    void explicitDirectoryWinsOverEverything() {
        assertEquals(Path.of("/opt/store"), StoreDirectory.resolve(Path.of("/opt/store"), ALL, "/props"));
    }

    @Test
    void storeDirVariableWinsOverXdgAndHome() {
        assertEquals(Path.of("/srv/msi"), StoreDirectory.resolve(null, ALL, "/props"));
    }

    @Test
    void xdgConfigHomeWinsOverHome() {
        assertEquals(Path.of("/xdg/msal/certs"),
                StoreDirectory.resolve(null, Map.of("XDG_CONFIG_HOME", "/xdg", "HOME", "/home/u"), "/props"));
    }

    @Test
    void homeVariableThenUserHome() {
        assertEquals(Path.of("/home/u/.config/msal/certs"), StoreDirectory.resolve(null, Map.of("HOME", "/home/u"), "/props"));
        assertEquals(Path.of("/props/.config/msal/certs"), StoreDirectory.resolve(null, Map.of(), "/props"));
    }

    @Test
    void blankAndRelativeXdgValuesAreIgnored() {
        assertEquals(Path.of("/home/u/.config/msal/certs"), StoreDirectory.resolve(null,
                Map.of("MSI_AGENT_STORE_DIR", " ", "XDG_CONFIG_HOME", "relative/xdg", "HOME", "/home/u"), null));
    }

    @Test
    void noHomeAtAllIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StoreDirectory.resolve(null, Map.of(), null));
        assertEquals(true, e.getMessage().contains("MSI_AGENT_STORE_DIR"));
    }
}
