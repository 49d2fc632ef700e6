package io.msiagent.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.imds.AccessToken;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** All of the cache's time goes through its Clock, a token's expiry too: else it would judge one clock's instant by another. */
class TokenClockTest {
    @TempDir
    Path tmp;

    @Test
    void aTokensExpiryIsReckonedOnTheCachesClock() {
        // behind the system clock, within the clock skew tolerated for a certificate's notBefore
        Clock behind = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-3));
        try (ImdsEmulator emu = Proof.emulator(Duration.ofHours(1));
                MsiCredentialCache cache = Proof.fastCache(emu, tmp).clock(behind).build()) {
            AccessToken t = cache.acquireToken("https://management.azure.com");
            // The emulator's tokens say expires_in 3599; reckoned on the system clock, the cache's clock would see 63 minutes.
            Duration left = Duration.between(behind.instant(), t.expiresOn());
            assertTrue(left.compareTo(Duration.ofMinutes(61)) < 0 && left.compareTo(Duration.ofMinutes(55)) > 0, left.toString());
        }
    }
}
