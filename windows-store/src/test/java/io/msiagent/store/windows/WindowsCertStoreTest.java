package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@SuppressWarnings("try") // locks held by try-with-resources without being referenced
class WindowsCertStoreTest {
    private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
    private static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();
    private static final ManagedIdentityId UAMI = ManagedIdentityId.clientId("0f0e0d0c-aaaa-bbbb-cccc-000000000001");

    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();
    private final TestCredentials ca = TestCredentials.newCa();
    private final CngKeyProvider keys = CngKeyProvider.builder().crypto(fake).build();
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

    /** A fresh store object over the same Windows state: what another process would see. */
    private WindowsCertStore store() {
        return new WindowsCertStore(fake, clock);
    }

    @AfterEach
    void noHandlesLeaked() {
        assertEquals(0, fake.openHandles("store"), "store handles left open");
        assertEquals(0, fake.openHandles("cert"), "certificate contexts left open");
        assertEquals(0, fake.openHandles("provider"), "provider handles left open");
        assertEquals(0, fake.openHandles("mutex"), "mutex handles left open");
    }

    private MtlsCredential credential(ManagedIdentityId id, ManagedKey key, Instant notBefore, Duration life) {
        X509Certificate cert = ca.issue(key.publicKey(), notBefore, notBefore.plus(life));
        return MtlsCredential.builder()
                .identity(id)
                .chain(List.of(cert, ca.caCertificate()))
                .privateKey(key.privateKey())
                .clientId(TestCredentials.CLIENT_ID)
                .tenantId(TestCredentials.TENANT_ID)
                .tokenEndpoint("https://127.0.0.1:1/" + TestCredentials.TENANT_ID + "/oauth2/v2.0/token")
                .renewAt(notBefore.plus(life.dividedBy(2)))
                .keyProtection(key.protection())
                .attested(key.protection() == KeyProtection.KEYGUARD)
                .build();
    }

    private MtlsCredential saved(ManagedIdentityId id, Instant notBefore, Duration life) {
        MtlsCredential c = credential(id, keys.create(KeyProtection.SOFTWARE), notBefore, life);
        store().save(c);
        return c;
    }

    private MtlsCredential valid(ManagedIdentityId id) {
        return saved(id, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7));
    }

    private static String friendlyName(FakeWindowsCrypto.Entry e) {
        byte[] v = e.properties.get(WinApi.CERT_FRIENDLY_NAME_PROP_ID);
        return v == null ? null : new String(v, StandardCharsets.UTF_16LE).replace("\0", "");
    }

    private static CngPrivateKey cngKey(MtlsCredential c) {
        return assertInstanceOf(CngPrivateKey.class, c.privateKey());
    }

    private static void assertSigns(MtlsCredential c) throws Exception {
        Signature s = Signature.getInstance("SHA256withRSA", MsiAgentCngProvider.instance());
        s.initSign(c.privateKey());
        s.update(new byte[] {1, 2, 3});
        Signature v = Signature.getInstance("SHA256withRSA");
        v.initVerify(c.certificate());
        v.update(new byte[] {1, 2, 3});
        assertTrue(v.verify(s.sign()));
    }

    // ---- save and load ------------------------------------------------------------------------

    @Test
    void aSavedCredentialLoadsInAnotherProcessWithEverything() throws Exception {
        MtlsCredential saved = valid(SYSTEM);

        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.FOUND, r.kind());
        MtlsCredential loaded = r.credential().orElseThrow();
        assertEquals(saved.chain(), loaded.chain());
        assertEquals(saved.clientId(), loaded.clientId());
        assertEquals(saved.tenantId(), loaded.tenantId());
        assertEquals(saved.tokenEndpoint(), loaded.tokenEndpoint());
        assertEquals(saved.renewAt(), loaded.renewAt());
        assertEquals(saved.keyProtection(), loaded.keyProtection());
        assertEquals(saved.attested(), loaded.attested());
        assertEquals(saved.x5tS256(), loaded.x5tS256());
        assertEquals(cngKey(saved).keyName(), cngKey(loaded).keyName());
        assertTrue(cngKey(loaded).canSignRsaPss());
        assertSigns(loaded);
    }

    @Test
    void theEntryIsLinkedToTheCngKeyAndTaggedAsOurs() {
        MtlsCredential saved = valid(UAMI);
        FakeWindowsCrypto.Entry e = fake.committedEntries().get(0);

        assertEquals(new WindowsCrypto.KeyLink(cngKey(saved).keyName(), WinApi.MS_KEY_STORAGE_PROVIDER), e.link);
        assertEquals("msi-agent|id=client_id=0f0e0d0c-aaaa-bbbb-cccc-000000000001|x5t=" + saved.x5tS256(),
                friendlyName(e));
        assertTrue(e.properties.containsKey(WinApi.MSI_AGENT_METADATA_PROP_ID));
        assertTrue(store().location(UAMI).startsWith("CurrentUser\\My"), store().location(UAMI));
        assertTrue(store().location(UAMI).contains("msi-agent|id=client_id=0f0e0d0c"), store().location(UAMI));
    }

    @Test
    void identitiesDoNotSeeEachOther() {
        MtlsCredential system = valid(SYSTEM);
        MtlsCredential uami = valid(UAMI);
        assertEquals(system.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
        assertEquals(uami.x5tS256(), store().load(UAMI).credential().orElseThrow().x5tS256());
        assertEquals(LoadResult.Kind.ABSENT, store().load(ManagedIdentityId.objectId("other")).kind());
    }

    @Test
    void nothingStoredIsAbsentWithoutAProblem() {
        LoadResult r = store().load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertEquals(null, r.problem());
    }

    @Test
    void foreignEntriesAreNeverTouched() {
        X509Certificate msal = ca.issue(TestCredentials.rsa2048().getPublic(), NOW.minus(Duration.ofDays(30)),
                NOW.minus(Duration.ofDays(23)));
        X509Certificate user = ca.issue(TestCredentials.rsa2048().getPublic(), NOW.minus(Duration.ofDays(30)),
                NOW.minus(Duration.ofDays(1)));
        X509Certificate fake1 = ca.issue(TestCredentials.rsa2048().getPublic(), NOW, NOW.plus(Duration.ofDays(1)));
        try {
            fake.addForeignEntry(msal.getEncoded(),
                    "MSAL|alias=system_assigned_managed_identity#att=1|ep=https://eastus2.mtlsauth.microsoft.com/t");
            fake.addForeignEntry(user.getEncoded(), null);
            fake.addForeignEntry(fake1.getEncoded(), "msi-agent-lookalike|id=system");
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
        valid(SYSTEM);
        store().load(SYSTEM);
        store().delete(SYSTEM);

        assertEquals(3, fake.committedEntries().size(), "expired MSAL and user entries survive our purge and delete");
    }

    @Test
    void theNewestValidEntryWinsAndAValidPredecessorStaysForInFlightHandshakes() {
        MtlsCredential older = saved(SYSTEM, NOW.minus(Duration.ofDays(4)), Duration.ofDays(7));
        MtlsCredential newer = saved(SYSTEM, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7));

        assertEquals(newer.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
        assertEquals(2, fake.committedEntries().size());
        assertTrue(fake.keyNames().contains(cngKey(older).keyName()));
    }

    @Test
    void expiredPredecessorsAndTheirKeysAreRemovedWhenASuccessorIsSaved() {
        MtlsCredential expired = saved(SYSTEM, NOW.minus(Duration.ofDays(8)), Duration.ofDays(7));
        MtlsCredential fresh = valid(SYSTEM);

        assertEquals(1, fake.committedEntries().size());
        assertFalse(fake.keyNames().contains(cngKey(expired).keyName()));
        assertEquals(fresh.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
    }

    @Test
    void anExpiredOnlyEntryIsStillFoundForTheEngineToJudge() {
        MtlsCredential expired = saved(SYSTEM, NOW.minus(Duration.ofDays(8)), Duration.ofDays(7));
        LoadResult r = store().load(SYSTEM);
        assertEquals(LoadResult.Kind.FOUND, r.kind());
        assertEquals(expired.x5tS256(), r.credential().orElseThrow().x5tS256());
    }

    // ---- stale entries ------------------------------------------------------------------------

    @Test
    void anEntryWhoseKeyIsGoneIsRemovedCommittedAndReported() {
        MtlsCredential c = valid(SYSTEM);
        fake.deleteKeyBehindTheBack(cngKey(c).keyName());

        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("no longer exists"), r.problem());
        assertTrue(fake.committedEntries().isEmpty(), "the delete was committed: other processes see it");
    }

    @Test
    void anEntryWhoseKeyNameNowHoldsOtherKeyMaterialIsRemovedWithThatKey() {
        MtlsCredential c = valid(SYSTEM);
        fake.replaceKeyMaterial(cngKey(c).keyName());

        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("modulus differs"), r.problem());
        assertTrue(fake.committedEntries().isEmpty());
        assertTrue(fake.keyNames().isEmpty());
    }

    @Test
    void aPerBootKeyGuardKeyIsDeadAfterARebootAndItsEntryIsPurged() throws Exception {
        ManagedKey kg = keys.create(KeyProtection.KEYGUARD);
        MtlsCredential c = credential(SYSTEM, kg, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7));
        store().save(c);
        assertEquals(KeyProtection.KEYGUARD, store().load(SYSTEM).credential().orElseThrow().keyProtection());

        fake.reboot();
        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("no longer signs"), r.problem());
        assertTrue(fake.committedEntries().isEmpty());
        assertFalse(fake.keyNames().contains(kg.keyId()), "the dead key is deleted too");
    }

    @Test
    void aCrossBootKeyGuardKeySurvivesAReboot() {
        ManagedKey kg = CngKeyProvider.builder().crypto(fake)
                .keyGuardPersistence(CngKeyProvider.KeyGuardPersistence.CROSS_BOOT).build()
                .create(KeyProtection.KEYGUARD);
        store().save(credential(SYSTEM, kg, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7)));
        fake.reboot();
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind());
    }

    @Test
    void afterARebootAnOlderLiveEntryTakesOverFromTheDeadNewerOne() {
        ManagedKey perBoot = keys.create(KeyProtection.KEYGUARD);
        assertTrue((fake.key(perBoot.keyId()).flags & WinApi.NCRYPT_USE_PER_BOOT_KEY_FLAG) != 0);
        // the older entry's key survives the reboot: a cross-boot key
        ManagedKey crossBoot = CngKeyProvider.builder().crypto(fake)
                .keyGuardPersistence(CngKeyProvider.KeyGuardPersistence.CROSS_BOOT).build()
                .create(KeyProtection.KEYGUARD);
        MtlsCredential older = credential(SYSTEM, crossBoot, NOW.minus(Duration.ofDays(2)), Duration.ofDays(7));
        MtlsCredential newer = credential(SYSTEM, perBoot, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7));
        store().save(older);
        store().save(newer);
        assertEquals(newer.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());

        fake.reboot();
        LoadResult r = store().load(SYSTEM);

        assertEquals(older.x5tS256(), r.credential().orElseThrow().x5tS256());
        assertEquals(1, fake.committedEntries().size());
    }

    @Test
    void anEntryClaimingKeyGuardWhoseKeyIsNotIsolatedIsRemoved() {
        MtlsCredential c = credential(SYSTEM, keys.create(KeyProtection.KEYGUARD), NOW, Duration.ofDays(7));
        store().save(c);
        fake.clearVirtualIso(cngKey(c).keyName());

        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("not VBS-isolated"), r.problem());
    }

    @Test
    void unreadableMetadataIsRemovedByLoadButOnlyReportedByInspect() {
        valid(SYSTEM);
        fake.committedEntries().get(0).properties.put(WinApi.MSI_AGENT_METADATA_PROP_ID,
                "v=1\nidentity=system\n".getBytes(StandardCharsets.UTF_8));

        LoadResult inspected = store().inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, inspected.kind());
        assertTrue(inspected.problem().contains("metadata lacks clientId"), inspected.problem());
        assertEquals(1, fake.committedEntries().size(), "inspect never writes");

        LoadResult loaded = store().load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, loaded.kind());
        assertTrue(loaded.problem().contains("metadata lacks clientId"), loaded.problem());
        assertTrue(fake.committedEntries().isEmpty());
    }

    /** A valid entry whose metadata a newer version rewrote with {@code newer}. */
    private void validEntryRewrittenBy(java.util.function.UnaryOperator<String> newer) {
        valid(SYSTEM);
        FakeWindowsCrypto.Entry e = fake.committedEntries().get(0);
        String meta = new String(e.properties.get(WinApi.MSI_AGENT_METADATA_PROP_ID), StandardCharsets.UTF_8);
        e.properties.put(WinApi.MSI_AGENT_METADATA_PROP_ID, newer.apply(meta).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void anEntryFromANewerVersionIsLeftAlone() {
        validEntryRewrittenBy(meta -> meta.replace("v=1\n", "v=2\n"));

        assertEquals(LoadResult.Kind.ABSENT, store().load(SYSTEM).kind());
        assertEquals(1, fake.committedEntries().size());
    }

    @Test
    void anEntryFromANewerVersionWithOtherFieldsIsLeftAloneToo() {
        // A newer layout: v2, and a field of v1 renamed.
        validEntryRewrittenBy(meta -> meta.replace("v=1\n", "v=2\n").replace("clientId=", "client="));

        assertEquals(LoadResult.Kind.ABSENT, store().load(SYSTEM).kind());
        assertEquals(1, fake.committedEntries().size(), "not purged as a stale entry");
    }

    @Test
    void anEntryWithoutKeyLinkIsStale() {
        valid(SYSTEM);
        fake.committedEntries().get(0).link = null;
        LoadResult r = store().inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, r.kind());
        assertTrue(r.problem().contains("no key link"), r.problem());
    }

    @Test
    void aKeySharedByAnotherLiveEntryIsNotDeletedWithAStaleOne() {
        ManagedKey key = keys.create(KeyProtection.SOFTWARE);
        MtlsCredential live = credential(SYSTEM, key, NOW.minus(Duration.ofHours(1)), Duration.ofDays(7));
        MtlsCredential expired = credential(SYSTEM, key, NOW.minus(Duration.ofDays(9)), Duration.ofDays(7));
        store().save(expired);
        store().save(live);

        assertEquals(1, fake.committedEntries().size());
        assertTrue(fake.keyNames().contains(key.keyId()));
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind());
    }

    @Test
    void whenTheLockIsBusyLoadStillAnswersAndLeavesStaleEntriesForLater() {
        MtlsCredential good = valid(SYSTEM);
        MtlsCredential gone = saved(SYSTEM, NOW.minus(Duration.ofHours(2)), Duration.ofDays(7));
        fake.deleteKeyBehindTheBack(cngKey(gone).keyName());
        fake.holdMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));

        LoadResult r = store().load(SYSTEM);

        assertEquals(good.x5tS256(), r.credential().orElseThrow().x5tS256());
        assertEquals(2, fake.committedEntries().size(), "purge skipped without the lock");
        fake.releaseMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));
        store().load(SYSTEM);
        assertEquals(1, fake.committedEntries().size());
    }

    @Test
    void withOnlyAnUnusableEntryAndABusyLockTheProblemSaysItIsNotYetRemoved() {
        MtlsCredential gone = valid(SYSTEM);
        fake.deleteKeyBehindTheBack(cngKey(gone).keyName());
        fake.holdMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));

        LoadResult r = store().load(SYSTEM);

        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("could not yet remove"), r.problem());
        assertEquals(1, fake.committedEntries().size());
        fake.releaseMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));
    }

    @Test
    void aFailedCommitDuringPurgeDoesNotLoseTheWinner() {
        MtlsCredential good = valid(SYSTEM);
        MtlsCredential gone = saved(SYSTEM, NOW.minus(Duration.ofHours(2)), Duration.ofDays(7));
        fake.deleteKeyBehindTheBack(cngKey(gone).keyName());
        fake.commitFailure = WinApi.E_ACCESSDENIED;

        assertEquals(good.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
        assertEquals(2, fake.committedEntries().size(), "without the commit other processes still see the entry");
    }

    // ---- failures while saving ------------------------------------------------------------------

    @Test
    void aSoftwareKeyIsRefusedWithAClearError() {
        MtlsCredential software = ca.credential(SYSTEM);
        StoreException e = assertThrows(StoreException.class, () -> store().save(software));
        assertTrue(e.getMessage().contains("only CNG keys"), e.getMessage());
    }

    @Test
    void aCertificateForAnotherKeyIsRefused() {
        ManagedKey key = keys.create(KeyProtection.SOFTWARE);
        MtlsCredential mismatched = credential(SYSTEM, key, NOW, Duration.ofDays(7)).toBuilder()
                .chain(List.of(ca.issue(TestCredentials.rsa2048().getPublic(), NOW, NOW.plus(Duration.ofDays(7)))))
                .build();
        StoreException e = assertThrows(StoreException.class, () -> store().save(mismatched));
        assertTrue(e.problem().contains("is not for key " + key.keyId()), e.problem());
        assertTrue(fake.committedEntries().isEmpty());
    }

    @Test
    void accessDeniedOnAddKeepsThePreviousCredential() {
        MtlsCredential previous = valid(SYSTEM);
        MtlsCredential next = credential(SYSTEM, keys.create(KeyProtection.SOFTWARE), NOW, Duration.ofDays(7));
        fake.storeWriteFailure = WinApi.E_ACCESSDENIED;

        StoreException e = assertThrows(StoreException.class, () -> store().save(next));
        assertTrue(e.getMessage().contains("access denied"), e.getMessage());

        fake.storeWriteFailure = null;
        assertEquals(previous.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
    }

    @Test
    void aFailedLinkRollsTheNewEntryBackAndKeepsThePreviousOne() {
        MtlsCredential previous = valid(SYSTEM);
        MtlsCredential next = credential(SYSTEM, keys.create(KeyProtection.SOFTWARE), NOW, Duration.ofDays(7));
        fake.propertyWriteFailure = WinApi.E_ACCESSDENIED;

        StoreException e = assertThrows(StoreException.class, () -> store().save(next));
        assertTrue(e.getMessage().contains("previous entry is unchanged"), e.getMessage());

        fake.propertyWriteFailure = null;
        assertEquals(1, fake.committedEntries().size(), "the half-made entry was removed");
        assertEquals(previous.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
    }

    @Test
    void anUnopenableStoreIsAStoreExceptionNamingTheStore() {
        fake.storeOpenFailure = WinApi.E_ACCESSDENIED;
        StoreException e = assertThrows(StoreException.class, () -> store().load(SYSTEM));
        assertTrue(e.location().startsWith("CurrentUser\\My"), e.location());
        assertTrue(e.problem().contains("0x80070005"), e.problem());
    }

    @Test
    void aFailureWhileReadingTheStoreIsAStoreExceptionAndLeaksNoContext() {
        valid(SYSTEM);
        valid(UAMI);
        fake.propertyReadFailure = WinApi.E_ACCESSDENIED;
        StoreException e = assertThrows(StoreException.class, () -> store().load(SYSTEM));
        assertTrue(e.problem().contains("0x80070005"), e.problem());
        fake.propertyReadFailure = null;
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind());
    }

    @Test
    void aSaveWhoseCleanupOfOlderEntriesFailsStillSaves() {
        valid(SYSTEM);
        MtlsCredential next = credential(SYSTEM, keys.create(KeyProtection.SOFTWARE), NOW, Duration.ofDays(7));
        fake.propertyReadFailure = WinApi.E_ACCESSDENIED;
        store().save(next);
        fake.propertyReadFailure = null;
        assertEquals(next.x5tS256(), store().load(SYSTEM).credential().orElseThrow().x5tS256());
    }

    @Test
    void aDeleteThatWindowsRefusesIsAStoreException() {
        valid(SYSTEM);
        fake.storeWriteFailure = WinApi.E_ACCESSDENIED;
        StoreException e = assertThrows(StoreException.class, () -> store().delete(SYSTEM));
        assertTrue(e.problem().contains("access denied"), e.problem());
        fake.storeWriteFailure = null;
        assertEquals(1, fake.committedEntries().size());
    }

    @Test
    void savingTheSameCertificateTwiceKeepsOneEntry() {
        MtlsCredential c = valid(SYSTEM);
        store().save(c);
        assertEquals(1, fake.committedEntries().size());
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind());
    }

    // ---- delete -------------------------------------------------------------------------------

    @Test
    void deleteRemovesEveryEntryOfTheIdentityAndItsKeysAndCommits() {
        MtlsCredential a = saved(SYSTEM, NOW.minus(Duration.ofDays(2)), Duration.ofDays(7));
        MtlsCredential b = valid(SYSTEM);
        MtlsCredential other = valid(UAMI);

        List<String> removed = store().delete(SYSTEM);

        assertEquals(2, removed.size());
        assertTrue(removed.stream().anyMatch(s -> s.contains(a.x5tS256())), removed.toString());
        assertTrue(removed.stream().anyMatch(s -> s.contains(cngKey(b).keyName())), removed.toString());
        assertEquals(1, fake.committedEntries().size());
        assertEquals(java.util.Set.of(cngKey(other).keyName()), fake.keyNames());
        assertEquals(LoadResult.Kind.ABSENT, store().load(SYSTEM).kind());
    }

    @Test
    void theFakeModelsWinesUncommittedDeletes() {
        valid(SYSTEM);
        long view = fake.openCurrentUserMy();
        List<WindowsCrypto.StoredCertificate> certs = fake.enumerate(view);
        fake.deleteCertificate(certs.get(0).handle());
        assertTrue(fake.enumerate(view).isEmpty(), "gone for the deleting handle");
        assertEquals(1, fake.committedEntries().size(), "but not for other processes until committed");
        fake.closeStore(view);
        assertEquals(1, fake.committedEntries().size());
    }

    // ---- lock ---------------------------------------------------------------------------------

    @Test
    void theLockIsANamedMutexPerIdentity() {
        assertTrue(WindowsCertStore.mutexName(SYSTEM).matches("Local\\\\msi-agent-[0-9a-f]{32}"),
                WindowsCertStore.mutexName(SYSTEM));
        assertFalse(WindowsCertStore.mutexName(SYSTEM).equals(WindowsCertStore.mutexName(UAMI)));
        try (StoreLock lock = store().lock(SYSTEM, Duration.ofSeconds(1))) {
            assertTrue(fake.mutexHeld(WindowsCertStore.mutexName(SYSTEM)));
            assertFalse(fake.mutexHeld(WindowsCertStore.mutexName(UAMI)));
        }
        assertFalse(fake.mutexHeld(WindowsCertStore.mutexName(SYSTEM)));
    }

    @Test
    void aLockHeldElsewhereTimesOutWithAStoreException() {
        fake.holdMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));
        StoreException e = assertThrows(StoreException.class, () -> store().lock(SYSTEM, Duration.ofMillis(50)));
        assertTrue(e.problem().contains("for more than 50 ms"), e.problem());
    }

    @Test
    void anAbandonedLockIsAcquired() {
        fake.abandonMutexInAnotherProcess(WindowsCertStore.mutexName(SYSTEM));
        try (StoreLock lock = store().lock(SYSTEM, Duration.ofMillis(50))) {
            assertTrue(fake.mutexHeld(WindowsCertStore.mutexName(SYSTEM)));
        }
    }

    @Test
    void saveUnderTheCallersLockIsReentrant() {
        MtlsCredential c = credential(SYSTEM, keys.create(KeyProtection.SOFTWARE), NOW, Duration.ofDays(7));
        try (StoreLock lock = store().lock(SYSTEM, Duration.ofSeconds(1))) {
            store().save(c);
        }
        assertEquals(LoadResult.Kind.FOUND, store().load(SYSTEM).kind());
        assertFalse(fake.mutexHeld(WindowsCertStore.mutexName(SYSTEM)));
    }

    @Test
    void anotherThreadWaitsForTheLockAndGetsItOnRelease() throws Exception {
        StoreLock held = store().lock(SYSTEM, Duration.ofSeconds(1));
        CompletableFuture<Boolean> other = CompletableFuture.supplyAsync(() -> {
            try (StoreLock lock = store().lock(SYSTEM, Duration.ofSeconds(10))) {
                return true;
            }
        });
        assertThrows(java.util.concurrent.TimeoutException.class, () -> other.get(200, TimeUnit.MILLISECONDS));
        held.close();
        assertTrue(other.get(10, TimeUnit.SECONDS));
    }

    @Test
    void theLockMustBeReleasedOnItsOwnThread() throws Exception {
        StoreLock held = store().lock(SYSTEM, Duration.ofSeconds(1));
        CompletableFuture<Void> wrongThread = CompletableFuture.runAsync(held::close);
        Exception e = assertThrows(Exception.class, () -> wrongThread.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        held.close();
        assertFalse(fake.mutexHeld(WindowsCertStore.mutexName(SYSTEM)));
    }

    @Test
    void metadataAndTagCodecsRoundTrip() {
        EntryMetadata m = new EntryMetadata(1, "resource_id=/subscriptions/x|y", "c", "t", "https://e/t", NOW,
                KeyProtection.TPM, true, "msi-agent-k", WinApi.MS_PLATFORM_CRYPTO_PROVIDER, false,
                List.of(new byte[] {1, 2, 3}));
        EntryMetadata back = EntryMetadata.decode(m.encode());
        assertEquals(m.identity(), back.identity());
        assertEquals(m.renewAt(), back.renewAt());
        assertEquals(KeyProtection.TPM, back.keyProtection());
        assertFalse(back.supportsPss());
        assertArrayEquals(new byte[] {1, 2, 3}, back.intermediates().get(0));

        EntryTag tag = new EntryTag("resource_id=/subscriptions/x|y%z", "abc");
        assertEquals(Optional.of(tag), EntryTag.fromPropertyValue(tag.toPropertyValue()));
        assertEquals(Optional.empty(), EntryTag.decode("MSAL|alias=x|ep=y"));
    }
}
