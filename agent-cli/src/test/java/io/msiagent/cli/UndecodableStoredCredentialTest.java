package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import io.msiagent.core.EncodedKeyAndCertificate;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.testing.UndecodableCertificates;
import io.msiagent.store.linux.LinuxCredentialStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stored entry whose thumbprint matches its metadata and which the JDK still refuses (as a JDK
 * stricter than the one that saved it may): a store load serves it undecoded, and every command that
 * uses the credential must end up with a working one, as it did when such an entry was quarantined
 * at load.
 */
class UndecodableStoredCredentialTest {
    private static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();

    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.builder()
            .certLifetime(Duration.ofHours(1)).build());

    @TempDir
    Path tmp;
    Cli cli;
    String undecodable;

    @BeforeEach
    void storeAnEntryTheJdkRefuses() throws Exception {
        cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        Cli.Result first = cli.run("acquire");
        assertEquals(0, first.code(), first::toString);
        spoilTheStoredEntry();
    }

    /** Replaces the stored certificate with one the JDK refuses, and its thumbprint in the metadata with the new one's. */
    private void spoilTheStoredEntry() throws Exception {
        Path dir = cli.storeDir();
        MtlsCredential c = store().inspect(SYSTEM).credential().orElseThrow();
        byte[] key = c.privateKey().getEncoded();
        byte[] damaged = UndecodableCertificates.damagedWhereOnlyTheJdkNotices(key, c.certificate().getEncoded());
        undecodable = EncodedKeyAndCertificate.ifWellFormed(key, damaged).orElseThrow().x5tS256();
        Files.write(dir.resolve("msal_mtls.pem"), UndecodableCertificates.pem(key, damaged));
        Path metadata = dir.resolve("msal_mtls.json");
        Files.writeString(metadata, Files.readString(metadata).replace(c.x5tS256(), undecodable));
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind(), "served undecoded by a load");
    }

    private LinuxCredentialStore store() {
        return LinuxCredentialStore.builder().directory(cli.storeDir()).build();
    }

    private void assertReplacedOnDisk() {
        MtlsCredential now = store().inspect(SYSTEM).credential().orElseThrow(); // inspect decodes with the JDK
        assertNotEquals(undecodable, now.x5tS256());
    }

    @Test
    void acquireIssuesInItsPlace() throws Exception {
        Cli.Result r = cli.run("--json", "acquire");
        assertEquals(0, r.code(), r::toString);
        assertNotEquals(undecodable, r.json().get("x5tS256").asText());
        assertEquals("imds", r.json().get("source").asText());
        assertReplacedOnDisk();
    }

    @Test
    void tokenAndRenewWorkAndReplaceIt() throws Exception {
        for (List<String> command : List.of(List.of("token", "--resource", "https://management.azure.com"), List.of("renew"))) {
            Cli.Result r = cli.run(command.toArray(String[]::new));
            assertEquals(0, r.code(), () -> command + ": " + r);
            assertReplacedOnDisk();
            spoilTheStoredEntry(); // again, for the next command
        }
    }
}
