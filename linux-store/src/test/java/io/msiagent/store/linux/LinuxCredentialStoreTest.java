package io.msiagent.store.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.CredentialUnavailableException;
import io.msiagent.core.EncodedKeyAndCertificate;
import io.msiagent.core.KeyMatch;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.TestCredentials;
import io.msiagent.core.testing.UndecodableCertificates;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinuxCredentialStoreTest {
    static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();
    static final ManagedIdentityId USER = ManagedIdentityId.clientId("6c2e1b7a-0d4f-4d0b-9e43-2b4c8a0f1e22");
    static final ManagedIdentityId ARM = ManagedIdentityId.resourceId(
            "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app");

    static TestCredentials ca;
    static MtlsCredential first;
    static MtlsCredential second;

    @TempDir
    Path tmp;
    Path dir;
    LinuxCredentialStore store;

    @BeforeAll
    static void credentials() {
        ca = TestCredentials.newCa();
        first = ca.credential(SYSTEM);
        second = ca.credential(SYSTEM);
    }

    @BeforeEach
    void store() {
        dir = tmp.resolve("home/.config/msal/certs");
        store = LinuxCredentialStore.builder().directory(dir).build();
    }

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    static MtlsCredential found(LoadResult r) {
        assertEquals(LoadResult.Kind.FOUND, r.kind(), () -> String.valueOf(r));
        return r.credential().orElseThrow();
    }

    static void assertSame(MtlsCredential expected, MtlsCredential actual) {
        assertEquals(expected.x5tS256(), actual.x5tS256());
        assertEquals(expected.chain(), actual.chain());
        assertArrayEquals(expected.privateKey().getEncoded(), actual.privateKey().getEncoded());
        assertEquals(expected.clientId(), actual.clientId());
        assertEquals(expected.tenantId(), actual.tenantId());
        assertEquals(expected.tokenEndpoint(), actual.tokenEndpoint());
        assertEquals(expected.renewAt(), actual.renewAt());
        assertEquals(expected.keyProtection(), actual.keyProtection());
        assertEquals(expected.attested(), actual.attested());
        assertEquals(expected.identity(), actual.identity());
    }

    @Test
    void nothingStoredIsAbsentWithoutCreatingAnything() {
        assertEquals(LoadResult.Kind.ABSENT, store.load(SYSTEM).kind());
        assertEquals(null, store.load(SYSTEM).problem());
        assertEquals(LoadResult.Kind.ABSENT, store.inspect(SYSTEM).kind());
        assertFalse(Files.exists(dir));
    }

    @Test
    void saveThenLoadGivesTheSameCredentialWithPrivateModes() throws Exception {
        store.save(first);
        assertSame(first, found(store.load(SYSTEM)));
        assertSame(first, found(store.inspect(SYSTEM)));
        assertEquals("rwx------", mode(dir));
        assertEquals("rwx------", mode(dir.getParent()), "parents we create are 0700 too");
        assertEquals("rwx------", mode(tmp.resolve("home")));
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> all = files.toList();
            assertEquals(List.of("msal_mtls.json", "msal_mtls.lock", "msal_mtls.pem"),
                    all.stream().map(p -> p.getFileName().toString()).sorted().toList());
            for (Path p : all) {
                assertEquals("rw-------", mode(p), p.toString());
            }
        }
        assertEquals(dir.resolve("msal_mtls.pem").toString(), store.location(SYSTEM));
    }

    @Test
    void pemFileStartsWithThePkcs8KeyThenTheCertificate() throws Exception {
        store.save(first);
        String pem = Files.readString(store.pemFile(SYSTEM));
        assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----\n"), pem.substring(0, 40));
        assertTrue(pem.indexOf("-----BEGIN CERTIFICATE-----") > pem.indexOf("-----END PRIVATE KEY-----"));
        String meta = Files.readString(store.metadataFile(SYSTEM));
        assertTrue(meta.contains("\"x5t#S256\" : \"" + first.x5tS256() + "\""), meta);
        assertTrue(meta.contains("\"formatVersion\" : 1"), meta);
        assertFalse(meta.contains("PRIVATE"), "metadata holds no key material");
    }

    @Test
    void aNewSaveReplacesTheOldEntryAndLeavesOneMetadataEntry() throws Exception {
        store.save(first);
        store.save(second);
        assertSame(second, found(store.load(SYSTEM)));
        EntryMetadata meta = EntryMetadata.parse(Files.readAllBytes(store.metadataFile(SYSTEM)));
        assertEquals(List.of(second.x5tS256()), meta.entries().stream().map(EntryMetadata.Entry::x5tS256).toList());
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp files left");
        }
    }

    @Test
    void aCrashBetweenStagedMetadataAndPemStillLoadsTheOldEntry() throws Exception {
        store.save(first);
        // What a crash right after the first metadata write leaves: new + old entries, old PEM.
        EntryMetadata staged = new EntryMetadata(SYSTEM.toString(), List.of(EntryMetadata.Entry.of(first)))
                .withNewest(EntryMetadata.Entry.of(second), first.x5tS256(), 3);
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), staged.toJson());
        assertSame(first, found(store.load(SYSTEM)));
    }

    @Test
    void identitiesHaveSeparateEntries() throws Exception {
        MtlsCredential user = ca.credential(USER);
        MtlsCredential arm = ca.credential(ARM);
        store.save(first);
        store.save(user);
        store.save(arm);
        assertSame(first, found(store.load(SYSTEM)));
        assertSame(user, found(store.load(USER)));
        assertSame(arm, found(store.load(ARM)));
        assertEquals(dir, store.pemFile(ARM).getParent(), "a resource id's slashes never leave the directory");
        store.delete(USER);
        assertEquals(LoadResult.Kind.ABSENT, store.load(USER).kind());
        assertSame(first, found(store.load(SYSTEM)));
    }

    @Test
    void anExpiredButWellFormedEntryIsFound() {
        MtlsCredential expired = ca.credential(SYSTEM, Instant.now().minus(Duration.ofDays(3)), Duration.ofDays(1));
        store.save(expired);
        assertSame(expired, found(store.load(SYSTEM)));
    }

    @Test
    void saveRefusesAKeyThatIsNotTheCertificates() {
        MtlsCredential mixed = first.toBuilder().privateKey(second.privateKey()).build();
        StoreException e = assertThrows(StoreException.class, () -> store.save(mixed));
        assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
        assertEquals(LoadResult.Kind.ABSENT, store.load(SYSTEM).kind());
    }

    @Test
    void saveRefusesANonExportableKeyAndKeepsTheOldEntry() {
        store.save(first);
        PrivateKey handle = new PrivateKey() {
            private static final long serialVersionUID = 1L;

            @Override
            public String getAlgorithm() {
                return "RSA";
            }

            @Override
            public String getFormat() {
                return null;
            }

            @Override
            public byte[] getEncoded() {
                return null;
            }
        };
        MtlsCredential cng = second.toBuilder().privateKey(handle).keyProtection(KeyProtection.TPM).build();
        StoreException e = assertThrows(StoreException.class, () -> store.save(cng));
        assertTrue(e.getMessage().contains("software keys only"), e.getMessage());
        assertSame(first, found(store.load(SYSTEM)));
    }

    @Test
    void keyAndCertificateInTheLoadedCredentialMatch() {
        store.save(first);
        MtlsCredential loaded = found(store.load(SYSTEM));
        assertTrue(KeyMatch.matches(loaded.certificate().getPublicKey(), loaded.privateKey()));
    }

    /** Intermediates, or a certificate time form other than RFC 5280's, take the JDK's decoders at load (the check leaves them to it). */
    @Test
    void entriesOutsideTheCheckedShapeLoadThroughTheJdk() throws Exception {
        MtlsCredential withIntermediate = first.toBuilder().chain(List.of(first.certificate(), ca.caCertificate()))
                .privateKey(first.privateKey()).build();
        store.save(withIntermediate);
        assertSame(withIntermediate, found(store.load(SYSTEM)));

        KeyPair keys = TestCredentials.rsa2048();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X500Name name = new X500Name("CN=" + TestCredentials.CLIENT_ID);
        Time fractional = new Time(new ASN1GeneralizedTime(DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC)
                .format(now.minusSeconds(60)) + ".5Z"));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new X509v3CertificateBuilder(name, BigInteger.TEN,
                fractional, new Time(Date.from(now.plus(Duration.ofDays(1)))), name,
                SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()))
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
        assertTrue(EncodedKeyAndCertificate.ifWellFormed(keys.getPrivate().getEncoded(), cert.getEncoded()).isEmpty());
        MtlsCredential unusualTime = first.toBuilder().chain(List.of(cert)).privateKey(keys.getPrivate())
                .renewAt(now.plus(Duration.ofHours(12))).build();
        store.save(unusualTime);
        assertSame(unusualTime, found(store.load(SYSTEM)));
    }

    /**
     * peek() serves what load() would, repairs what load() repairs, and leaves everything else in
     * place for load() (which the engine calls under the lock): it never quarantines, and neither
     * takes nor waits for the lock.
     */
    @Test
    void peekServesAUsableEntryAndLeavesAnythingElseToLoad() throws Exception {
        assertTrue(store.peek(SYSTEM).isEmpty(), "nothing stored");
        store.save(first);
        Files.setPosixFilePermissions(store.pemFile(SYSTEM), PosixFilePermissions.fromString("rw-r--r--"));
        assertSame(first, store.peek(SYSTEM).orElseThrow());
        assertEquals("rw-------", mode(store.pemFile(SYSTEM)), "a too-open mode is repaired as a load repairs it");

        SecureFiles.writeAtomically(store.pemFile(SYSTEM), "not a pem at all\n".getBytes(StandardCharsets.US_ASCII));
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            other.submit(() -> {
                try (StoreLock lock = store.lock(SYSTEM, Duration.ofSeconds(5))) {
                    held.countDown();
                    done.await();
                }
                return null;
            });
            assertTrue(held.await(10, TimeUnit.SECONDS));
            // load() would wait up to a second for the lock to move the entry aside; peek() does not try.
            assertTrue(assertTimeoutPreemptively(Duration.ofMillis(900), () -> store.peek(SYSTEM)).isEmpty());
            done.countDown();
        } finally {
            other.shutdown();
        }
        assertTrue(Files.exists(store.pemFile(SYSTEM)), "nothing moved aside");
        assertEquals(LoadResult.Kind.ABSENT, store.load(SYSTEM).kind(), "load() deals with it");
        assertFalse(Files.exists(store.pemFile(SYSTEM)));

        Files.createSymbolicLink(store.pemFile(SYSTEM), tmp.resolve("elsewhere.pem"));
        assertThrows(StoreException.class, () -> store.peek(SYSTEM), "a symlink is refused, as by load()");
    }

    // --- corrupt entries -------------------------------------------------------------------

    private LoadResult corruptThenInspectThenLoad(byte[] pem) throws Exception {
        store.save(first);
        SecureFiles.writeAtomically(store.pemFile(SYSTEM), pem);
        LoadResult inspected = store.inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, inspected.kind(), inspected::toString);
        assertTrue(Files.exists(store.pemFile(SYSTEM)), "inspect never moves anything");
        LoadResult loaded = store.load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, loaded.kind());
        assertTrue(loaded.problem().contains("msal_mtls.pem"), loaded.problem());
        assertFalse(Files.exists(store.pemFile(SYSTEM)));
        assertFalse(Files.exists(store.metadataFile(SYSTEM)));
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> quarantined = files.filter(p -> p.getFileName().toString().contains(".corrupt-")).toList();
            assertEquals(2, quarantined.size(), quarantined::toString);
            for (Path p : quarantined) {
                assertTrue(p.getFileName().toString().matches("msal_mtls\\.(pem|json)\\.corrupt-\\d{8}T\\d{6}Z"), p.toString());
                assertEquals("rw-------", mode(p));
            }
        }
        assertEquals(LoadResult.Kind.ABSENT, store.load(SYSTEM).kind(), "nothing left to quarantine");
        return loaded;
    }

    @Test
    void truncatedPemIsQuarantined() throws Exception {
        byte[] pem = Files.readAllBytes(writeAndGetPem());
        LoadResult r = corruptThenInspectThenLoad(Arrays.copyOf(pem, pem.length - 200));
        assertTrue(r.problem().contains("no complete CERTIFICATE"), r.problem());
    }

    @Test
    void garbageIsQuarantined() throws Exception {
        LoadResult r = corruptThenInspectThenLoad("not a pem at all\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(r.problem().contains("no complete PRIVATE KEY"), r.problem());
    }

    @Test
    void keyOfAnotherCertificateIsQuarantined() throws Exception {
        byte[] mixed = PemCodec.encode(second.privateKey().getEncoded(), first.chain());
        LoadResult r = corruptThenInspectThenLoad(mixed);
        assertTrue(r.problem().contains("does not belong"), r.problem());
    }

    /**
     * Damage inside a name leaves the certificate's DER layout intact, so the JCA-free check at load
     * accepts it although the JDK would not: the thumbprint, compared with the metadata's, refuses it.
     */
    @Test
    void aCertificateDamagedWhereOnlyTheJdkWouldNoticeIsQuarantined() throws Exception {
        LoadResult r = corruptThenInspectThenLoad(UndecodableCertificates.pem(first.privateKey().getEncoded(), damagedWhereOnlyTheJdkNotices(first)));
        assertTrue(r.problem().contains("metadata has no entry for the certificate x5t#S256="), r.problem());
    }

    /**
     * An entry whose thumbprint matches and which the JDK still refuses (a stricter JDK than the one
     * that saved it): load() serves it, and the cache, decoding it right after, re-issues in its
     * place; inspect(), for status and doctor, judges it with the JDK.
     */
    @Test
    void anEntryTheJdkRefusesDespiteItsThumbprintIsServedByLoadAndInvalidToInspect() throws Exception {
        store.save(first);
        byte[] damaged = damagedWhereOnlyTheJdkNotices(first);
        String damagedX5t = EncodedKeyAndCertificate.ifWellFormed(first.privateKey().getEncoded(), damaged).orElseThrow().x5tS256();
        SecureFiles.writeAtomically(store.pemFile(SYSTEM), UndecodableCertificates.pem(first.privateKey().getEncoded(), damaged));
        Path metadata = store.metadataFile(SYSTEM);
        SecureFiles.writeAtomically(metadata, Files.readString(metadata).replace(first.x5tS256(), damagedX5t)
                .getBytes(StandardCharsets.UTF_8));

        LoadResult inspected = store.inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, inspected.kind(), inspected::toString);
        assertTrue(inspected.problem().contains("CERTIFICATE block is not a DER X.509 certificate"), inspected.problem());
        MtlsCredential served = found(store.load(SYSTEM));
        assertEquals(damagedX5t, served.x5tS256());
        assertThrows(CredentialUnavailableException.class, served::certificate);
    }

    private static byte[] damagedWhereOnlyTheJdkNotices(MtlsCredential c) throws Exception {
        return UndecodableCertificates.damagedWhereOnlyTheJdkNotices(c.privateKey().getEncoded(), c.certificate().getEncoded());
    }

    @Test
    void pemOfAnotherCertificateThanTheMetadataIsQuarantinedAfterReReads() throws Exception {
        byte[] other = PemCodec.encode(second.privateKey().getEncoded(), second.chain());
        LoadResult r = corruptThenInspectThenLoad(other);
        assertTrue(r.problem().contains("no entry for the certificate x5t#S256=" + second.x5tS256()), r.problem());
    }

    @Test
    void anOversizedPemIsQuarantinedAndTheStoreWorksAgain() throws Exception {
        LoadResult r = corruptThenInspectThenLoad(new byte[(1 << 20) + 1]);
        assertTrue(r.problem().contains("larger than 1048576 bytes"), r.problem());
        store.save(second);
        assertSame(second, found(store.load(SYSTEM)));
    }

    @Test
    void anOversizedMetadataFileIsQuarantinedAndTheStoreWorksAgain() throws Exception {
        store.save(first);
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), new byte[(1 << 20) + 1]);
        assertEquals(LoadResult.Kind.INVALID, store.inspect(SYSTEM).kind());
        LoadResult r = store.load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.problem().contains("msal_mtls.json: larger than 1048576 bytes"), r.problem());
        store.save(second);
        assertSame(second, found(store.load(SYSTEM)));
    }

    @Test
    void unparseableMetadataIsQuarantined() throws Exception {
        store.save(first);
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), "{\"formatVersion\":1, \"entr".getBytes(StandardCharsets.UTF_8));
        assertEquals(LoadResult.Kind.INVALID, store.inspect(SYSTEM).kind());
        assertFalse(store.inspect(SYSTEM).isLeftInPlace(), "a corrupt entry is replaced by re-acquiring");
        LoadResult r = store.load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertFalse(r.isLeftInPlace());
        assertTrue(r.problem().contains("msal_mtls.json: not JSON"), r.problem());
        assertFalse(Files.exists(store.pemFile(SYSTEM)));
    }

    @Test
    void aNewerVersionsEntryIsNeitherQuarantinedNorOverwritten() throws Exception {
        store.save(first);
        String meta = Files.readString(store.metadataFile(SYSTEM)).replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), meta.getBytes(StandardCharsets.UTF_8));
        byte[] pemBefore = Files.readAllBytes(store.pemFile(SYSTEM));

        LoadResult inspected = store.inspect(SYSTEM);
        assertEquals(LoadResult.Kind.INVALID, inspected.kind());
        assertTrue(inspected.isLeftInPlace(), "re-acquiring cannot repair it: the agent must not try");
        LoadResult r = store.load(SYSTEM);
        assertEquals(LoadResult.Kind.ABSENT, r.kind());
        assertTrue(r.isLeftInPlace());
        assertTrue(r.problem().contains("formatVersion 2 was written by a newer msi-agent"), r.problem());
        StoreException refused = assertThrows(StoreException.class, () -> store.save(second));
        assertTrue(refused.getMessage().contains("not saving over it"), refused.getMessage());

        // The newer version (an upgrade rolling out, or this one downgraded) still finds its entry as it left it.
        assertArrayEquals(pemBefore, Files.readAllBytes(store.pemFile(SYSTEM)));
        assertEquals(meta, Files.readString(store.metadataFile(SYSTEM)));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.contains("corrupt")).toList(),
                    "nothing was moved aside");
        }
    }

    @Test
    void aNewerVersionsEntryIsLeftInPlaceEvenWhenThisVersionCannotReadItsPem() throws Exception {
        store.save(first);
        String meta = Files.readString(store.metadataFile(SYSTEM)).replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), meta.getBytes(StandardCharsets.UTF_8));
        // A newer version may keep its key differently (say, a TPM-wrapped blob).
        String pem = Files.readString(store.pemFile(SYSTEM)).replace("PRIVATE KEY-----", "TSS2 PRIVATE KEY-----");
        SecureFiles.writeAtomically(store.pemFile(SYSTEM), pem.getBytes(StandardCharsets.US_ASCII));

        assertTrue(store.inspect(SYSTEM).isLeftInPlace());
        LoadResult r = store.load(SYSTEM);
        assertTrue(r.isLeftInPlace(), r::toString);
        assertEquals(pem, Files.readString(store.pemFile(SYSTEM)));
        assertEquals(meta, Files.readString(store.metadataFile(SYSTEM)));
    }

    @Test
    void aRenewAtOutsideTheCertificatesValidityIsACorruptEntry() throws Exception {
        for (Instant renewAt : List.of(first.notAfter().plusSeconds(86_400), first.notBefore().minusSeconds(1))) {
            store.save(first);
            String meta = Files.readString(store.metadataFile(SYSTEM))
                    .replaceFirst("\"renewAt\" ?: ?\"[^\"]*\"", "\"renewAt\":\"" + renewAt + "\"");
            assertTrue(meta.contains(renewAt.toString()), meta);
            SecureFiles.writeAtomically(store.metadataFile(SYSTEM), meta.getBytes(StandardCharsets.UTF_8));
            assertEquals(LoadResult.Kind.INVALID, store.inspect(SYSTEM).kind(), "status says so");
            LoadResult r = store.load(SYSTEM);
            assertEquals(LoadResult.Kind.ABSENT, r.kind());
            assertTrue(r.problem().contains("renewAt " + renewAt + " is outside the certificate's validity"), r.problem());
        }
    }

    @Test
    void metadataOfAnotherIdentityIsQuarantined() throws Exception {
        store.save(first);
        String meta = Files.readString(store.metadataFile(SYSTEM)).replace("\"system\"", "\"client_id=x\"");
        SecureFiles.writeAtomically(store.metadataFile(SYSTEM), meta.getBytes(StandardCharsets.UTF_8));
        LoadResult r = store.load(SYSTEM);
        assertTrue(r.problem().contains("belongs to identity client_id=x"), r.problem());
    }

    @Test
    void atMostThreeQuarantinedEntriesAreKeptOldestRemovedFirst() throws Exception {
        Instant t0 = Instant.parse("2026-11-22T12:01:02Z");
        for (int i = 0; i < 5; i++) {
            LinuxCredentialStore s = LinuxCredentialStore.builder().directory(dir)
                    .clock(Clock.fixed(t0.plusSeconds(i), ZoneOffset.UTC)).build();
            s.save(first);
            SecureFiles.writeAtomically(s.pemFile(SYSTEM), "junk".getBytes(StandardCharsets.US_ASCII));
            assertEquals(LoadResult.Kind.ABSENT, s.load(SYSTEM).kind());
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("Z")).sorted().toList();
            assertEquals(List.of("msal_mtls.json.corrupt-20261122T120104Z", "msal_mtls.json.corrupt-20261122T120105Z",
                    "msal_mtls.json.corrupt-20261122T120106Z", "msal_mtls.pem.corrupt-20261122T120104Z",
                    "msal_mtls.pem.corrupt-20261122T120105Z", "msal_mtls.pem.corrupt-20261122T120106Z"), names);
        }
    }

    @Test
    void anEntryQuarantinedAfterTheClockWasSetBackIsKept() throws Exception {
        Instant t0 = Instant.parse("2026-11-22T12:01:02Z");
        Instant beforeTimeSync = Instant.parse("1970-01-01T00:00:42Z");
        for (Instant at : List.of(t0, t0.plusSeconds(1), t0.plusSeconds(2), beforeTimeSync)) {
            LinuxCredentialStore s = LinuxCredentialStore.builder().directory(dir).clock(Clock.fixed(at, ZoneOffset.UTC)).build();
            s.save(first);
            SecureFiles.writeAtomically(s.pemFile(SYSTEM), "junk".getBytes(StandardCharsets.US_ASCII));
            LoadResult r = s.load(SYSTEM);
            for (String moved : r.problem().substring(r.problem().indexOf("moved aside as ") + 15).split(", ")) {
                assertTrue(Files.exists(dir.resolve(moved)), moved + " was reported as moved aside, so it must exist");
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("Z")).sorted().toList();
            assertEquals(List.of("msal_mtls.json.corrupt-19700101T000042Z", "msal_mtls.json.corrupt-20261122T120103Z",
                    "msal_mtls.json.corrupt-20261122T120104Z", "msal_mtls.pem.corrupt-19700101T000042Z",
                    "msal_mtls.pem.corrupt-20261122T120103Z", "msal_mtls.pem.corrupt-20261122T120104Z"), names);
        }
    }

    @Test
    void deleteRemovesTheEntryAndItsQuarantinedFilesButNotOtherIdentities() throws Exception {
        store = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        store.save(first);
        SecureFiles.writeAtomically(store.pemFile(SYSTEM), "junk".getBytes(StandardCharsets.US_ASCII));
        store.load(SYSTEM);
        store.save(second);
        MtlsCredential user = ca.credential(USER);
        store.save(user);
        List<String> removed = store.delete(SYSTEM);
        assertEquals(6, removed.size(), removed::toString); // pem, json, pfx + 3 quarantined
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("msal_mtls.")).allMatch(n -> n.equals("msal_mtls.lock")));
        }
        assertEquals(LoadResult.Kind.ABSENT, store.load(SYSTEM).kind());
        assertSame(user, found(store.load(USER)));
        assertEquals(List.of(), store.delete(SYSTEM));
    }

    private Path writeAndGetPem() {
        store.save(first);
        return store.pemFile(SYSTEM);
    }
}
