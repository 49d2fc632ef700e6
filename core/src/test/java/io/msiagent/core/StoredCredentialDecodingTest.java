package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.FakeScheduledExecutor;
import io.msiagent.core.testing.MutableClock;
import io.msiagent.core.testing.TestCredentials;
import io.msiagent.core.testing.UndecodableCertificates;
import java.math.BigInteger;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A credential a store hands over {@link EncodedKeyAndCertificate encoded} is served before the JDK
 * decodes it; the cache decodes it right after serving it and replaces it if the JDK refuses it.
 */
class StoredCredentialDecodingTest {
    private static final ManagedIdentityId SYSTEM = ManagedIdentityId.systemAssigned();
    private final MutableClock clock = MutableClock.atNow();
    private final FakeIssuer imds = new FakeIssuer(clock);
    private final InMemoryCredentialStore store = new InMemoryCredentialStore();
    private final List<CredentialEvent.Type> events = new CopyOnWriteArrayList<>();
    private final TestCredentials ca = TestCredentials.newCa();
    private MsiCredentialCache cache;

    private MsiCredentialCache cache() {
        // The worker runs each flight on the calling thread: what the cache does after serving happens before get() returns.
        cache = MsiCredentialCache.builder().issuer(imds).store(store).keyProvider(new PooledKeyProvider()).keyAttestor(null)
                .clock(clock).executor(new FakeScheduledExecutor(clock)).worker(Runnable::run).build();
        cache.addListener(e -> events.add(e.type()));
        return cache;
    }

    @AfterEach
    void close() {
        if (cache != null) {
            cache.close();
        }
    }

    @Test
    void aStoredCredentialIsServedEncodedAndDecodedRightAfter() throws Exception {
        MtlsCredential stored = ca.credential(SYSTEM);
        EncodedKeyAndCertificate encoded = EncodedKeyAndCertificate.ifWellFormed(stored.privateKey().getEncoded(),
                stored.certificate().getEncoded()).orElseThrow();
        store.save(stored.toBuilder().encoded(encoded).build());

        MtlsCredential served = cache().get();

        assertEquals(stored.x5tS256(), served.x5tS256());
        assertTrue(encoded.decoded(), "decoded by the cache after serving, before any caller asked for the key");
        assertEquals(stored.certificate(), served.certificate());
        assertEquals(0, imds.issueCalls.get());
        assertEquals(List.of(CredentialEvent.Type.ACQUIRED), events);
    }

    /** E.g. after an upgrade to a stricter JDK: the first use fails with a clear error, and the cache re-issues. */
    @Test
    void aStoredCredentialTheJdkRefusesIsReplacedOnceServed() throws Exception {
        MtlsCredential stored = ca.credential(SYSTEM);
        EncodedKeyAndCertificate undecodable = wellFormedButRefusedByTheJdk(stored);
        store.save(stored.toBuilder().encoded(undecodable).build());
        MsiCredentialCache cache = cache();

        MtlsCredential served = cache.get();

        assertEquals(undecodable.x5tS256(), served.x5tS256());
        CredentialUnavailableException e = assertThrows(CredentialUnavailableException.class, served::certificate);
        assertTrue(e.getMessage().contains("x5t#S256=" + undecodable.x5tS256()) && e.getMessage().contains("JDK cannot decode"),
                e.getMessage());
        RSAPrivateCrtKey key = (RSAPrivateCrtKey) stored.privateKey();
        for (BigInteger secret : List.of(key.getPrivateExponent(), key.getPrimeP(), key.getPrimeQ())) {
            assertFalse(e.getMessage().contains(secret.toString(16).substring(0, 12)) || e.getMessage().contains(secret.toString().substring(0, 12)));
        }
        CredentialUnavailableException again = assertThrows(CredentialUnavailableException.class, served::privateKey);
        assertSame(e.getCause(), again.getCause(), "a refusal is final: the JDK is not asked twice");
        MtlsCredential bothReplaced = served.toBuilder().chain(stored.chain()).privateKey(stored.privateKey()).build();
        assertEquals(stored.certificate(), bothReplaced.certificate(), "replacing both halves decodes neither");
        MtlsCredential successor = cache.get();
        assertNotEquals(served.x5tS256(), successor.x5tS256());
        assertEquals(2, successor.generation());
        assertEquals(1, imds.issueCalls.get());
        assertEquals(successor.x5tS256(), store.load(SYSTEM).credential().orElseThrow().x5tS256());
        assertEquals(List.of(CredentialEvent.Type.ACQUIRED, CredentialEvent.Type.RENEWED), events);
    }

    private static EncodedKeyAndCertificate wellFormedButRefusedByTheJdk(MtlsCredential c) throws Exception {
        byte[] pkcs8 = c.privateKey().getEncoded();
        return EncodedKeyAndCertificate.ifWellFormed(pkcs8,
                UndecodableCertificates.damagedWhereOnlyTheJdkNotices(pkcs8, c.certificate().getEncoded())).orElseThrow();
    }
}
