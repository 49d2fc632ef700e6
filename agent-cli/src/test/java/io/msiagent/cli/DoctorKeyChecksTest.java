package io.msiagent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulatorExtension;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.KeyAttestor;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.Pkcs1OnlyKey;
import io.msiagent.core.testing.TestCredentials;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** doctor's key lines: TLS versions of the stored credential, why it is unattested, and no Windows checks elsewhere. */
class DoctorKeyChecksTest {
    @RegisterExtension
    static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.defaults());

    private static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();
    private final TestCredentials ca = TestCredentials.newCa();

    @TempDir
    Path tmp;

    /** An attestor that is present but, like a Windows host without the DLL, may be unavailable. */
    private static Optional<KeyAttestor> attestor(String unavailableReason) {
        return Optional.of(new KeyAttestor() {
            @Override
            public String name() {
                return "keyguard-maa";
            }

            @Override
            public boolean isSupported() {
                return true;
            }

            @Override
            public Optional<String> attest(ManagedKey key, String attestationEndpoint, String clientId) {
                throw new UnsupportedOperationException("doctor never attests");
            }

            @Override
            public String unavailableReason() {
                return unavailableReason;
            }
        });
    }

    private MtlsCredential withKey(KeyProtection protection, boolean attested) {
        return ca.credential(SYSTEM).toBuilder().keyProtection(protection).attested(attested).build();
    }

    @Test
    void aCredentialWhoseKeyCannotSignPssIsATls12Warning() {
        MtlsCredential tpm = Pkcs1OnlyKey.credential(ca, SYSTEM, Duration.ofDays(1));
        DoctorCommand.Check c = DoctorCommand.tlsVersions(tpm);
        assertEquals("WARN", c.result());
        assertTrue(c.detail().contains(tpm.x5tS256()) && c.detail().contains("TLS 1.2 only")
                && c.detail().contains("maximum salt only"), c.detail());

        DoctorCommand.Check software = DoctorCommand.tlsVersions(ca.credential(SYSTEM));
        assertEquals("PASS", software.result());
        assertTrue(software.detail().contains("TLS 1.3"), software.detail());
        assertEquals("WARN", DoctorCommand.tlsVersions(null).result());
    }

    @Test
    void theAttestationLineSaysWhyTheCredentialIsUnattested() {
        MtlsCredential keyGuardUnattested = withKey(KeyProtection.KEYGUARD, false);

        DoctorCommand.Check noDll = DoctorCommand.attestation(
                attestor("AttestationClientLib.dll not found (PATH, jna.library.path)"), keyGuardUnattested);
        assertEquals("WARN", noDll.result());
        assertTrue(noDll.detail().contains("is unattested") && noDll.detail().contains("AttestationClientLib.dll"), noDll.detail());

        DoctorCommand.Check linux = DoctorCommand.attestation(Optional.empty(), withKey(KeyProtection.SOFTWARE, false));
        assertEquals("WARN", linux.result());
        assertTrue(linux.detail().contains("no key attestor on this platform"), linux.detail());

        DoctorCommand.Check tpm = DoctorCommand.attestation(attestor(null), withKey(KeyProtection.TPM, false));
        assertEquals("WARN", tpm.result());
        assertTrue(tpm.detail().contains("its key is TPM; only KeyGuard keys can be attested"), tpm.detail());

        DoctorCommand.Check late = DoctorCommand.attestation(attestor(null), keyGuardUnattested);
        assertTrue(late.detail().contains("issued while attestation was unavailable"), late.detail());

        assertEquals("PASS", DoctorCommand.attestation(attestor(null), withKey(KeyProtection.KEYGUARD, true)).result());
        assertEquals("PASS", DoctorCommand.attestation(attestor(null), null).result());
        DoctorCommand.Check nothingStored = DoctorCommand.attestation(attestor("AttestationClientLib.dll not found"), null);
        assertEquals("WARN", nothingStored.result());
        assertTrue(nothingStored.detail().contains("AttestationClientLib.dll not found"), nothingStored.detail());
    }

    @Test
    @DisabledOnOs(OS.WINDOWS)
    void onLinuxDoctorHasNoWindowsChecksAndSaysWhyTheCredentialIsUnattested() {
        assertTrue(DoctorCommand.windowsKeyChecks(ca.credential(SYSTEM)).isEmpty());

        Cli cli = new Cli(EMULATOR.emulator(), tmp.resolve("certs"));
        assertEquals(0, cli.run("acquire").code());
        Cli.Result r = cli.run("doctor", "--json");
        assertEquals(0, r.code(), r::toString);
        Map<String, JsonNode> byCheck = new HashMap<>();
        r.json().forEach(c -> byCheck.put(c.get("check").asText(), c));
        assertFalse(byCheck.containsKey("keyguard") || byCheck.containsKey("tpm") || byCheck.containsKey("key-alive"),
                r.out());
        assertEquals("PASS", byCheck.get("tls-versions").get("result").asText(), r.out());
        JsonNode attestation = byCheck.get("attestation");
        assertEquals("WARN", attestation.get("result").asText());
        assertTrue(attestation.get("detail").asText().contains("is unattested: no key attestor on this platform"), r.out());
        r.json().forEach(c -> assertFalse(c.get("result").asText().equals("FAIL"), c.toString()));
    }
}
