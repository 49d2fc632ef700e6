package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.TestCredentials;
import io.msiagent.store.windows.KeyProtectionDiagnostics.Finding;
import io.msiagent.store.windows.KeyProtectionDiagnostics.Result;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** doctor's Windows key-protection checks, over the fake boundary. */
class KeyProtectionDiagnosticsTest {
    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();
    private final CngKeyProvider keys = CngKeyProvider.builder().crypto(fake).build();
    private final KeyProtectionDiagnostics doctor = new KeyProtectionDiagnostics(keys);
    private final TestCredentials ca = TestCredentials.newCa();

    @AfterEach
    void nothingLeftOpen() {
        assertEquals(0, fake.openHandles("provider"), "provider handles left open");
    }

    private MtlsCredential credential(ManagedKey key) {
        Instant notBefore = Instant.now().minus(Duration.ofMinutes(1));
        return MtlsCredential.builder()
                .identity(ManagedIdentityId.systemAssigned())
                .chain(List.of(ca.issue(key.publicKey(), notBefore, notBefore.plus(Duration.ofDays(1)))))
                .privateKey(key.privateKey())
                .clientId(TestCredentials.CLIENT_ID)
                .tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/" + TestCredentials.TENANT_ID + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(Duration.ofHours(12)))
                .keyProtection(key.protection())
                .attested(false)
                .build();
    }

    @Test
    void aMachineWithKeyGuardAndAPssCapableTpmPasses() {
        MtlsCredential stored = credential(keys.create(KeyProtection.KEYGUARD));
        List<Finding> findings = doctor.findings(stored);

        assertEquals(List.of("keyguard", "tpm", "key-alive"), findings.stream().map(Finding::check).toList());
        assertTrue(findings.stream().allMatch(f -> f.result() == Result.PASS), findings::toString);
        assertTrue(findings.get(0).detail().contains("per-boot"), findings.get(0).detail());
        assertTrue(findings.get(2).detail().contains("alive in this boot"), findings.get(2).detail());
        assertEquals(java.util.Set.of(((CngPrivateKey) stored.privateKey()).keyName()), fake.keyNames(),
                "the probe keys are deleted again; the stored credential's key is untouched");
    }

    @Test
    void vbsUnavailableAndNoTpmAreWarningsThatSayWhy() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.missingProviders.put(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, WinApi.NTE_PROV_DLL_NOT_FOUND);

        Finding keyGuard = doctor.keyGuard();
        Finding tpm = doctor.tpm();

        assertEquals(Result.WARN, keyGuard.result());
        assertTrue(keyGuard.detail().contains("VBS key isolation unavailable") && keyGuard.detail().contains("0x80890014"),
                keyGuard.detail());
        assertEquals(Result.WARN, tpm.result());
        assertTrue(tpm.detail().startsWith("no usable TPM") && tpm.detail().contains(WinApi.MS_PLATFORM_CRYPTO_PROVIDER),
                tpm.detail());
        assertTrue(fake.keyNames().isEmpty(), "nothing left behind: " + fake.keyNames());
    }

    @Test
    void aTpmWithoutPssIsAWarningAboutTls12() {
        fake.tpmWithoutPss = true;
        Finding tpm = doctor.tpm();
        assertEquals(Result.WARN, tpm.result());
        assertTrue(tpm.detail().contains("TLS 1.2 only"), tpm.detail());
        assertTrue(fake.keyNames().isEmpty(), "the probe key is deleted: " + fake.keyNames());
    }

    @Test
    void aPerBootKeyAfterARebootFails() {
        MtlsCredential stored = credential(keys.create(KeyProtection.KEYGUARD));
        fake.reboot();
        Finding alive = doctor.keyAlive(stored);
        assertEquals(Result.FAIL, alive.result());
        assertTrue(alive.detail().contains("no longer signs") && alive.detail().contains("per-boot"), alive.detail());
    }

    @Test
    void aCrossBootKeySurvivesTheReboot() {
        CngKeyProvider crossBoot = CngKeyProvider.builder().crypto(fake)
                .keyGuardPersistence(CngKeyProvider.KeyGuardPersistence.CROSS_BOOT).build();
        MtlsCredential stored = credential(crossBoot.create(KeyProtection.KEYGUARD));
        fake.reboot();
        assertEquals(Result.PASS, doctor.keyAlive(stored).result());
        assertTrue(new KeyProtectionDiagnostics(crossBoot).keyGuard().detail().contains("cross-boot"));
    }

    @Test
    void withoutAStoredCngKeyTheProbeIsSkipped() {
        assertEquals(Result.WARN, doctor.keyAlive(null).result());
        Finding software = doctor.keyAlive(ca.credential(ManagedIdentityId.systemAssigned()));
        assertEquals(Result.WARN, software.result());
        assertTrue(software.detail().contains("not a CNG key"), software.detail());
    }

    @Test
    @DisabledOnOs(OS.WINDOWS)
    void offWindowsThereAreNoWindowsChecks() {
        assertTrue(KeyProtectionDiagnostics.forThisMachine().isEmpty());
    }
}
