package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.spi.CredentialStoreProvider;
import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.KeyProvider;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

class ServiceRegistrationTest {

    /** Loads every registered service and asks what core asks, then prints "supported=<...>". */
    public static final class Probe {
        public static void main(String[] args) {
            StringBuilder sb = new StringBuilder();
            for (CredentialStoreProvider p : ServiceLoader.load(CredentialStoreProvider.class)) {
                sb.append(p.name()).append('=').append(p.isSupported()).append(';');
            }
            for (KeyProvider p : ServiceLoader.load(KeyProvider.class)) {
                sb.append(p.name()).append('=').append(p.isSupported()).append(';');
            }
            for (KeyAttestor p : ServiceLoader.load(KeyAttestor.class)) {
                sb.append(p.name()).append('=').append(p.isSupported()).append(';');
                p.unavailableReason();
            }
            System.out.println("supported:" + sb);
        }
    }

    @Test
    void allThreeServicesAreRegistered() {
        assertTrue(ServiceLoader.load(CredentialStoreProvider.class).stream()
                .anyMatch(p -> p.type() == WindowsCertStoreProvider.class));
        assertTrue(ServiceLoader.load(KeyProvider.class).stream().anyMatch(p -> p.type() == CngKeyProvider.class));
        assertTrue(ServiceLoader.load(KeyAttestor.class).stream().anyMatch(p -> p.type() == KeyGuardAttestor.class));
        assertEquals("windows-cng", new WindowsCertStoreProvider().name());
    }

    @Test
    @DisabledOnOs(OS.WINDOWS)
    void offWindowsNothingIsSupportedAndNoJnaClassIsEvenLoaded(@TempDir Path dir) throws Exception {
        assertFalse(new WindowsCertStoreProvider().isSupported());
        assertFalse(new CngKeyProvider().isSupported());
        assertFalse(new KeyGuardAttestor().isSupported());

        // A fresh JVM, so classes loaded by other tests do not count; -verbose:class lists every class loaded.
        String java = ProcessHandle.current().info().command().orElse("java");
        Path out = dir.resolve("out.txt");
        Process p = new ProcessBuilder(java, "-verbose:class", "-cp", System.getProperty("java.class.path"),
                Probe.class.getName()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(File.separator, lines));
        String result = lines.stream().filter(l -> l.startsWith("supported:")).findFirst().orElseThrow();
        assertEquals("supported:windows-cng=false;windows-cng=false;keyguard-maa=false;", result);
        List<String> jna = lines.stream().filter(l -> l.contains("com.sun.jna")).collect(Collectors.toList());
        assertEquals(List.of(), jna, "no JNA class may load off Windows");
        assertTrue(lines.stream().anyMatch(l -> l.contains("io.msiagent.store.windows.CngKeyProvider ")),
                "the probe did load our providers");
    }
}
