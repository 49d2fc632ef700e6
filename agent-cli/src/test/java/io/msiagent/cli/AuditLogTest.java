package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.testing.TestCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit log: 0600 JSON lines without secrets, rotated past 1 MiB, never failing its caller. */
class AuditLogTest {
    @TempDir
    Path dir;

    @Test
    void linesAreJsonWithTheFieldsAndNoSecret() throws Exception {
        MtlsCredential c = TestCredentials.newCa().credential(ManagedIdentityId.clientId("abc"));
        AuditLog log = AuditLog.beside(dir);
        assertNull(log.append(c.identity(), "renewed", c, "renewAt", "success", Duration.ofMillis(1500), null));
        assertNull(log.append(c.identity(), "renewal_failed", c, "retry", "failure", null, "HTTP 503"));
        List<String> lines = Files.readAllLines(dir.resolve("audit.log"));
        assertEquals(2, lines.size());
        JsonNode first = Cli.JSON.readTree(lines.get(0));
        assertEquals("client_id=abc", first.get("identity").asText());
        assertEquals("renewed", first.get("event").asText());
        assertEquals(c.x5tS256(), first.get("thumbprint").asText());
        assertEquals(c.notAfter().toString(), first.get("notAfter").asText());
        assertEquals(1.5, first.get("duration").asDouble());
        assertEquals("HTTP 503", Cli.JSON.readTree(lines.get(1)).get("reason").asText());
        String all = String.join("\n", lines);
        assertTrue(!all.contains("PRIVATE") && !all.contains(java.util.Base64.getEncoder().encodeToString(c.privateKey().getEncoded())
                .substring(0, 40)), "no key material");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("audit.log"))));
    }

    @Test
    void rotatesPastOneMebibyte() throws Exception {
        Path file = dir.resolve("audit.log");
        Files.write(file, new byte[(int) AuditLog.MAX_BYTES]);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertNull(AuditLog.beside(dir).append(ManagedIdentityId.systemAssigned(), "cleared", null, "clear", "success", null, null));
        assertEquals(AuditLog.MAX_BYTES, Files.size(dir.resolve("audit.log.1")));
        assertEquals(1, Files.readAllLines(file).size());
    }

    @Test
    void aFailureIsReportedNotThrown() throws Exception {
        Path target = Files.createDirectory(dir.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("audit.log"), target.resolve("audit.log"));
        String problem = AuditLog.beside(dir).append(ManagedIdentityId.systemAssigned(), "cleared", null, "clear", "success", null, null);
        assertTrue(problem != null && problem.contains("audit.log"), String.valueOf(problem));
        assertTrue(Files.notExists(target.resolve("audit.log")), "a symlink is not followed");
    }
}
