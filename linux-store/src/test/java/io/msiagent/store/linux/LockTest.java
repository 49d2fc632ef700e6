package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static io.msiagent.store.linux.PermissionsTest.readQuietly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.TestCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LockTest {
    @TempDir
    Path dir;
    final ExecutorService pool = Executors.newFixedThreadPool(4);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private LinuxCredentialStore store() {
        return LinuxCredentialStore.builder().directory(dir).build();
    }

    @Test
    void threadsOfOneJvmExcludeEachOtherAcrossStoreInstances() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        CompletableFuture<?>[] all = new CompletableFuture<?>[4];
        for (int t = 0; t < all.length; t++) {
            LinuxCredentialStore s = store(); // separate instances share the JVM-wide lock
            all[t] = CompletableFuture.runAsync(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 25; i++) {
                        try (StoreLock lock = s.lock(SYSTEM, Duration.ofSeconds(30))) {
                            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            Thread.onSpinWait();
                            inside.decrementAndGet();
                        }
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, pool);
        }
        start.countDown();
        CompletableFuture.allOf(all).get(60, TimeUnit.SECONDS);
        assertEquals(1, maxInside.get());
    }

    @Test
    void saveAndLoadInsideTheLockOnTheSameThreadDoNotWaitForThemselves() {
        LinuxCredentialStore s = store();
        MtlsCredential c = TestCredentials.newCa().credential(SYSTEM);
        try (StoreLock lock = s.lock(SYSTEM, Duration.ofSeconds(5))) {
            assertEquals(LoadResult.Kind.ABSENT, s.load(SYSTEM).kind());
            s.save(c);
            assertEquals(c.x5tS256(), s.load(SYSTEM).credential().orElseThrow().x5tS256());
        }
    }

    @Test
    void aSecondPathToTheSameDirectorySharesTheLockAndNeverDropsIt() throws Exception {
        Path real = Files.createDirectories(dir.resolve("real"));
        Path alias = Files.createSymbolicLink(dir.resolve("alias"), real);
        LinuxCredentialStore viaReal = LinuxCredentialStore.builder().directory(real.resolve("certs")).build();
        LinuxCredentialStore viaAlias = LinuxCredentialStore.builder().directory(alias.resolve("certs")).build();
        try (StoreLock held = viaReal.lock(SYSTEM, Duration.ofSeconds(5))) {
            long inode = (Long) Files.getAttribute(real.resolve("certs/msal_mtls.lock"), "unix:ino");
            assertTrue(heldPosixLock(inode), "the lock is held");
            StoreException e = pool.submit(() -> assertThrows(StoreException.class,
                    () -> viaAlias.lock(SYSTEM, Duration.ofMillis(200)))).get(30, TimeUnit.SECONDS);
            assertTrue(e.problem().contains("another thread of this process"), e.problem());
            // A failed attempt through the other path must not have closed a descriptor of the file:
            // that would silently drop this process' fcntl lock while we still believe we hold it.
            assertTrue(heldPosixLock(inode), "the kernel still has our lock after the other path's attempt");
        }
    }

    @Test
    void closingAHandleTwiceReleasesNothingElse() throws Exception {
        LinuxCredentialStore s = store();
        try (StoreLock outer = s.lock(SYSTEM, Duration.ofSeconds(5))) {
            StoreLock inner = s.lock(SYSTEM, Duration.ofSeconds(5)); // re-entered on this thread
            inner.close();
            inner.close();
            assertThrows(StoreException.class, () -> {
                try {
                    pool.submit(() -> s.lock(SYSTEM, Duration.ofMillis(200)).close()).get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException ex) {
                    throw ex.getCause();
                }
            }, "the outer hold survives a doubled close of the inner handle");
            outer.close();
        }
        pool.submit(() -> s.lock(SYSTEM, Duration.ofSeconds(5)).close()).get(30, TimeUnit.SECONDS);
    }

    private static boolean heldPosixLock(long inode) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            if (line.contains("POSIX") && line.contains(":" + inode + " ")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void anInterruptedCallerGetsNoLockRatherThanAHandleThatGuardsNothing() throws Exception {
        LinuxCredentialStore s = store();
        StoreException e = pool.submit(() -> {
            Thread.currentThread().interrupt(); // the lock is free: no wait, so only the pid write sees it
            StoreException thrown = assertThrows(StoreException.class, () -> s.lock(SYSTEM, Duration.ofSeconds(5)));
            assertTrue(Thread.interrupted(), "the interrupt stays set for the caller");
            return thrown;
        }).get(30, TimeUnit.SECONDS);
        assertTrue(e.problem().contains("interrupted"), e.problem());
        // Nothing is left held, in this JVM or on the file: another process takes the lock at once.
        pool.submit(() -> s.lock(SYSTEM, Duration.ofSeconds(5)).close()).get(30, TimeUnit.SECONDS);
        Process holder = ChildJvm.start(dir.resolve("holder.err"), "hold-lock", dir.toString());
        try {
            assertEquals("LOCKED", ChildJvm.firstLine(holder, 120), () -> readQuietly(dir.resolve("holder.err")));
        } finally {
            holder.destroyForcibly();
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void anotherThreadTimesOutWithAMessageNamingTheLockAndHolder() throws Exception {
        LinuxCredentialStore s = store();
        try (StoreLock lock = s.lock(SYSTEM, Duration.ofSeconds(5))) {
            StoreException e = pool.submit(() -> assertThrows(StoreException.class,
                    () -> s.lock(SYSTEM, Duration.ofMillis(200)))).get(30, TimeUnit.SECONDS);
            assertEquals(dir.resolve("msal_mtls.lock").toString(), e.location());
            assertTrue(e.problem().contains("another thread of this process"), e.problem());
        }
        // released: another thread gets it at once
        pool.submit(() -> s.lock(SYSTEM, Duration.ofSeconds(5)).close()).get(30, TimeUnit.SECONDS);
    }

    @Test
    void lockHolderLooksWithoutTakingOrWriting() throws Exception {
        LinuxCredentialStore s = store();
        assertEquals(java.util.Optional.empty(), s.lockHolder(SYSTEM), "no lock file yet");
        s.lock(SYSTEM, Duration.ofSeconds(5)).close();
        Path lockFile = dir.resolve("msal_mtls.lock");
        Files.writeString(lockFile, "pid 1\n");
        java.nio.file.attribute.FileTime before = Files.getLastModifiedTime(lockFile);
        assertEquals(java.util.Optional.empty(), s.lockHolder(SYSTEM));
        assertEquals("pid 1\n", Files.readString(lockFile), "nothing written");
        assertEquals(before, Files.getLastModifiedTime(lockFile));

        try (StoreLock lock = s.lock(SYSTEM, Duration.ofSeconds(5))) {
            assertTrue(s.lockHolder(SYSTEM).orElseThrow().startsWith("this thread"), "the holding thread asks");
            assertTrue(pool.submit(() -> s.lockHolder(SYSTEM)).get(30, TimeUnit.SECONDS).orElseThrow().contains("this process"));
            // looking did not drop the fcntl lock this JVM holds: another process still cannot take it
            Process other = ChildJvm.start(dir.resolve("other.err"), "hold-lock", dir.toString());
            try {
                assertThrows(java.util.concurrent.TimeoutException.class, () -> ChildJvm.firstLine(other, 6),
                        "another process got the lock this JVM holds");
            } finally {
                other.destroyForcibly();
                other.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void lockHolderRefusesALockFileThatIsNoRegularFileInsteadOfBlockingOnIt() throws Exception {
        Files.createDirectories(dir);
        Path fifo = dir.resolve("msal_mtls.lock");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        StoreException e = pool.submit(() -> assertThrows(StoreException.class, () -> store().lockHolder(SYSTEM)))
                .get(10, TimeUnit.SECONDS); // a FIFO opened for reading would block until a writer came
        assertTrue(e.problem().contains("is not a regular file"), e.problem());
    }

    @Test
    void anotherProcessHoldingTheLockIsNamedByPidThenItsDeathFreesTheLock() throws Exception {
        Process holder = ChildJvm.start(dir.resolve("holder.err"), "hold-lock", dir.toString());
        try {
            assertEquals("LOCKED", ChildJvm.firstLine(holder, 120), () -> readQuietly(dir.resolve("holder.err")));
            StoreException e = assertThrows(StoreException.class, () -> store().lock(SYSTEM, Duration.ofMillis(300)));
            assertTrue(e.problem().contains("held by process " + holder.pid()), e.problem());
            assertEquals("pid " + holder.pid() + "\n", Files.readString(dir.resolve("msal_mtls.lock")));
            assertEquals(java.util.Optional.of("process " + holder.pid()), store().lockHolder(SYSTEM), "doctor's look names it too");

            // A process that locks without writing its pid (not msi-agent) must not be named by a stale one.
            Files.writeString(dir.resolve("msal_mtls.lock"), "pid 999999999\n");
            StoreException stale = assertThrows(StoreException.class, () -> store().lock(SYSTEM, Duration.ofMillis(300)));
            assertTrue(stale.problem().contains("pid unknown: the lock file names 999999999, which does not run in this pid namespace"),
                    stale.problem());
        } finally {
            holder.destroyForcibly(); // SIGKILL: no chance to unlock; the kernel drops its fcntl lock
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(137, holder.exitValue(), "killed by SIGKILL");
        try (StoreLock lock = store().lock(SYSTEM, Duration.ofSeconds(10))) {
            assertEquals("pid " + ProcessHandle.current().pid() + "\n", Files.readString(dir.resolve("msal_mtls.lock")));
        }
        assertFalse(Files.exists(dir.resolve("msal_mtls.pem")));
    }
}
