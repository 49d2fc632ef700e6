package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.MsiCredentialException;
import io.msiagent.core.spi.ManagedKey;
import java.security.interfaces.RSAPublicKey;
import org.junit.jupiter.api.Test;

class CngKeyProviderTest {
    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();

    private CngKeyProvider provider() {
        return CngKeyProvider.builder().crypto(fake).build();
    }

    private static CngPrivateKey cng(ManagedKey key) {
        return assertInstanceOf(CngPrivateKey.class, key.privateKey());
    }

    private void assertNoHandlesLeakedExcept(long keys) {
        assertEquals(0, fake.openHandles("provider"), "provider handles left open");
        assertEquals(keys, fake.openHandles("key"), "key handles");
    }

    @Test
    void keyGuardIsTheFirstChoice_nonExportable_perBoot_verifiedIsolated() {
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);

        assertEquals(KeyProtection.KEYGUARD, key.protection());
        CngPrivateKey priv = cng(key);
        assertEquals(WinApi.MS_KEY_STORAGE_PROVIDER, priv.providerName());
        assertTrue(priv.keyName().startsWith("msi-agent-"), priv.keyName());
        assertEquals(priv.keyName(), key.keyId());
        FakeWindowsCrypto.FakeKey stored = fake.key(priv.keyName());
        assertEquals(WinApi.NCRYPT_USE_VIRTUAL_ISOLATION_FLAG | WinApi.NCRYPT_USE_PER_BOOT_KEY_FLAG, stored.flags,
                "REQUIRE_VBS + per-boot, never PREFER_VBS");
        assertEquals(0, WinApi.readDword(stored.properties.get(WinApi.NCRYPT_EXPORT_POLICY_PROPERTY)));
        assertEquals(2048, ((RSAPublicKey) key.publicKey()).getModulus().bitLength());
        assertEquals(((RSAPublicKey) key.publicKey()).getModulus(), priv.getModulus());
        assertTrue(priv.canSignRsaPss());
        assertEquals(null, priv.rsaPssLimitation());
        assertEquals(null, priv.getEncoded());
        assertEquals(null, priv.getFormat());
        assertEquals(MsiAgentCngProvider.NAME, key.signatureProvider().getName());
        assertNoHandlesLeakedExcept(1);
    }

    @Test
    void crossBootKeyGuardKeysOmitThePerBootFlag() {
        ManagedKey key = CngKeyProvider.builder().crypto(fake)
                .keyGuardPersistence(CngKeyProvider.KeyGuardPersistence.CROSS_BOOT).build()
                .create(KeyProtection.KEYGUARD);
        assertEquals(WinApi.NCRYPT_USE_VIRTUAL_ISOLATION_FLAG, fake.key(key.keyId()).flags);
    }

    @Test
    void everyGenerationGetsAFreshKeyName() {
        CngKeyProvider p = provider();
        assertNotEquals(p.create(KeyProtection.SOFTWARE).keyId(), p.create(KeyProtection.SOFTWARE).keyId());
    }

    @Test
    void vbsUnavailableAtCreateFallsThroughToTheTpm() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.TPM, key.protection());
        assertEquals(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, cng(key).providerName());
        assertEquals(0, fake.key(key.keyId()).flags);
        assertNoHandlesLeakedExcept(1);
    }

    @Test
    void vbsUnavailableAtFinalizeFallsThroughAndLeavesNoKeyBehind() {
        fake.vbsFailureAtFinalize = WinApi.NTE_NOT_SUPPORTED;
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.TPM, key.protection());
        assertEquals(1, fake.keyNames().size(), "only the TPM key exists");
        assertNoHandlesLeakedExcept(1);
    }

    @Test
    void aKeyThatIsNotReallyIsolatedIsDeletedAndNotReportedAsKeyGuard() {
        fake.vbsFlagIgnored = true; // what PREFER_VBS would do silently
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.TPM, key.protection());
        assertEquals(java.util.Set.of(key.keyId()), fake.keyNames(), "the unisolated key was deleted");
    }

    @Test
    void noVbsAndNoTpmGivesASoftwareKey() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.missingProviders.put(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, WinApi.NTE_PROV_DLL_NOT_FOUND);
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.SOFTWARE, key.protection());
        assertEquals(WinApi.MS_KEY_STORAGE_PROVIDER, cng(key).providerName());
        assertEquals(0, fake.key(key.keyId()).flags);
        assertEquals(WinApi.NCRYPT_ALLOW_SIGNING_FLAG,
                WinApi.readDword(fake.key(key.keyId()).properties.get(WinApi.NCRYPT_KEY_USAGE_PROPERTY)));
    }

    @Test
    void aTpmWithoutPssGivesAPkcs1OnlyKeyThatSaysSo() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        fake.tpmWithoutPss = true;
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        assertEquals(KeyProtection.TPM, key.protection());
        CngPrivateKey priv = cng(key);
        assertFalse(priv.canSignRsaPss());
        assertTrue(priv.rsaPssLimitation().contains("TPM"));
    }

    @Test
    void requiringKeyGuardWhereThereIsNoneFailsClosedNamingBothLevels() {
        fake.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> provider().create(KeyProtection.KEYGUARD));
        assertTrue(e.getMessage().contains("KEYGUARD is required"), e.getMessage());
        assertTrue(e.getMessage().contains("strongest available on this machine is TPM"), e.getMessage());
        assertTrue(e.getMessage().contains("0x80890014"), e.getMessage());
        assertTrue(fake.keyNames().isEmpty(), "nothing left behind");
        assertNoHandlesLeakedExcept(0);
    }

    @Test
    void requiringTpmWithoutTpmNamesSoftwareAsTheBest() {
        fake.vbsFailureAtCreate = WinApi.NTE_BAD_FLAGS;
        fake.missingProviders.put(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, WinApi.NTE_DEVICE_NOT_FOUND);
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> provider().create(KeyProtection.TPM));
        assertTrue(e.getMessage().contains("TPM is required"), e.getMessage());
        assertTrue(e.getMessage().contains("strongest available on this machine is SOFTWARE"), e.getMessage());
        assertTrue(fake.keyNames().isEmpty());
    }

    @Test
    void requiringTpmAcceptsKeyGuard() {
        assertEquals(KeyProtection.KEYGUARD, provider().create(KeyProtection.TPM).protection());
    }

    @Test
    void aProviderThatIgnoresTheExportPolicyIsRefused() {
        fake.exportPolicyReadsAs = 1;
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> provider().create(KeyProtection.SOFTWARE));
        assertTrue(e.getMessage().contains("export policy reads 1"), e.getMessage());
        assertTrue(fake.keyNames().isEmpty(), "refused keys are deleted");
    }

    @Test
    void noKeyStorageProviderAtAllIsAClearError() {
        fake.missingProviders.put(WinApi.MS_KEY_STORAGE_PROVIDER, WinApi.NTE_PROV_DLL_NOT_FOUND);
        fake.missingProviders.put(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, WinApi.NTE_PROV_DLL_NOT_FOUND);
        MsiCredentialException e = assertThrows(MsiCredentialException.class,
                () -> provider().create(KeyProtection.SOFTWARE));
        assertTrue(e.getMessage().startsWith("no CNG key could be created"), e.getMessage());
    }

    @Test
    void bestAvailableProtectionProbesWithoutKeepingAnything() {
        assertEquals(KeyProtection.KEYGUARD, provider().bestAvailableProtection());
        assertTrue(fake.keyNames().isEmpty());
        assertNoHandlesLeakedExcept(0);

        FakeWindowsCrypto noVbs = new FakeWindowsCrypto();
        noVbs.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        assertEquals(KeyProtection.TPM, CngKeyProvider.builder().crypto(noVbs).build().bestAvailableProtection());

        noVbs.missingProviders.put(WinApi.MS_PLATFORM_CRYPTO_PROVIDER, WinApi.NTE_DEVICE_NOT_READY);
        assertEquals(KeyProtection.SOFTWARE, CngKeyProvider.builder().crypto(noVbs).build().bestAvailableProtection());
    }

    @Test
    void discardDeletesTheUnusedKey() {
        ManagedKey key = provider().create(KeyProtection.SOFTWARE);
        key.discard();
        assertTrue(fake.keyNames().isEmpty());
        assertNoHandlesLeakedExcept(0);
    }

    @Test
    void theServiceLoaderInstanceIsUnsupportedOffWindows() {
        CngKeyProvider p = new CngKeyProvider();
        assertEquals(System.getProperty("os.name").startsWith("Windows"), p.isSupported());
        if (!p.isSupported()) {
            assertThrows(MsiCredentialException.class, () -> p.create(KeyProtection.SOFTWARE));
            assertThrows(MsiCredentialException.class, p::bestAvailableProtection);
        }
    }
}
