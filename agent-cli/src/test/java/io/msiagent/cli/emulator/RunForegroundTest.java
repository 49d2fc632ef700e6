package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
                ImdsEmulator.runForeground(EmulatorConfig.builder().addUserAssigned(uami).build(), out, false);
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
        assertFalse(stillServes(uri, uami.clientId()), "the emulator stopped serving after the interrupt");
        assertNotNull(text);
    }

    @Test
    void withJsonItPrintsOneObjectAScriptCanRead() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        EmulatedIdentity uami = EmulatedIdentity.randomUserAssigned("fg-json");
        Thread runner = new Thread(() -> {
            try {
                ImdsEmulator.runForeground(EmulatorConfig.builder().addUserAssigned(uami).build(), out, true);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "foreground-emulator-json");
        runner.start();
        try {
            Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
            while (!buffer.toString(StandardCharsets.UTF_8).contains("\n") && Instant.now().isBefore(deadline) && runner.isAlive()) {
                Thread.sleep(50);
            }
            String text = buffer.toString(StandardCharsets.UTF_8);
            assertEquals(1, text.lines().count(), "one line, nothing else: " + text);
            com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
            assertTrue(j.get("imdsEndpoint").asText().startsWith("http://127.0.0.1:"), text);
            assertTrue(j.get("tokenEndpoint").asText().endsWith("/" + j.get("tenantId").asText() + "/oauth2/v2.0/token"), text);
            assertTrue(Files.readString(Path.of(j.get("caFile").asText())).startsWith("-----BEGIN CERTIFICATE-----"));
            assertTrue(text.contains("\"clientId\":\"" + uami.clientId() + "\""), text);
        } finally {
            runner.interrupt();
            runner.join(Duration.ofSeconds(30).toMillis());
        }
    }

    /**
     * Whether our emulator still answers at {@code imds}. A refused connection is the usual answer,
     * but the freed ephemeral port may already belong to another test's server on this machine, so
     * "ours" is decided by the identity in the reply, not by the port.
     */
    private static boolean stillServes(URI imds, String clientId) {
        HttpRequest request = HttpRequest.newBuilder(imds.resolve("/metadata/identity/getplatformmetadata?cred-api-version=2.0&client_id=" + clientId))
                .header("Metadata", "true").timeout(Duration.ofSeconds(5)).build();
        try {
            HttpResponse<String> reply = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
            return reply.body().contains(clientId);
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
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
