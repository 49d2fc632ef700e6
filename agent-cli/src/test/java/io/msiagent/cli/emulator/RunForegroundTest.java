package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The foreground runner the {@code msi-agent emulator} command calls. */
class RunForegroundTest {

    @Test
    void printsEndpointsAndExportsServesAndStopsWhenInterrupted() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        EmulatedIdentity uami = EmulatedIdentity.randomUserAssigned("fg");
        Thread runner = new Thread(() -> {
            try {
                ImdsEmulator.runForeground(EmulatorConfig.builder().addUserAssigned(uami).build(), out);
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "foreground-emulator");
        runner.start();

        Pattern endpoint = Pattern.compile("export MSI_AGENT_IMDS_ENDPOINT=(\\S+)");
        Pattern ca = Pattern.compile("export MSI_AGENT_TRUST_CA=(\\S+)");
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        String text = "";
        while (!text.contains("Press Ctrl-C") && Instant.now().isBefore(deadline) && runner.isAlive()) {
            Thread.sleep(50);
            text = buffer.toString(StandardCharsets.UTF_8);
        }
        assertTrue(text.contains("Press Ctrl-C"), "banner: " + text + " failure: " + failure.get());
        Matcher m = endpoint.matcher(text);
        assertTrue(m.find(), text);
        String imds = m.group(1);
        assertTrue(imds.startsWith("http://127.0.0.1:"), imds);
        Matcher c = ca.matcher(text);
        assertTrue(c.find(), text);
        Path caFile = Path.of(c.group(1));
        assertTrue(Files.readString(caFile).startsWith("-----BEGIN CERTIFICATE-----"));
        assertTrue(text.contains(uami.clientId()) && text.contains("/oauth2/v2.0/token"), text);

        URI uri = URI.create(imds);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 2000); // it serves
        }

        runner.interrupt();
        runner.join(Duration.ofSeconds(30).toMillis());
        assertFalse(runner.isAlive(), "runForeground returned after the interrupt");
        assertEquals(null, failure.get());
        assertFalse(Files.exists(caFile), "the temporary CA file is removed");
        assertThrows(ConnectException.class, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 2000);
            }
        });
        assertNotNull(text);
    }

    @Test
    void withACaDirTheExportedCaFileIsThePersistedCertificate(@org.junit.jupiter.api.io.TempDir Path dir)
            throws IOException {
        try (ImdsEmulator e = ImdsEmulator.start(EmulatorConfig.builder().caDir(dir).build())) {
            Path file = e.writeCaFile();
            assertEquals(dir.resolve(EmulatorCa.CERT_FILE).toAbsolutePath(), file);
            assertEquals(e.caPem(), Files.readString(file));
        }
    }
}
