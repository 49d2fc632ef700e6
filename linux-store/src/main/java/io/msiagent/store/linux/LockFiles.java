package io.msiagent.store.linux;

import io.msiagent.core.StoreException;
import io.msiagent.core.spi.StoreLock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Cross-process locks on lock files ({@code fcntl} locks through {@link FileChannel#tryLock()}),
 * polled with a bounded wait. The kernel drops an fcntl lock when its process dies, however it
 * dies, so a lock held by a dead process never blocks anyone and there is no stale-lock guessing.
 *
 * <p>Within one JVM the file lock is not enough ({@code tryLock} on a file this JVM already locked
 * throws {@code OverlappingFileLockException}, and closing any descriptor of the file drops the
 * process' lock), so a JVM-wide {@link ReentrantLock} per lock path comes first, and only its holder
 * ever opens the lock file. The lock is reentrant for the thread holding it: a save inside
 * {@code lock(...)} on the same thread does not wait for itself. It must be closed by the thread
 * that took it.
 *
 * <p>The holder writes its pid into the lock file, for diagnostics only: a timeout names it.
 */
final class LockFiles {
    private static final ConcurrentMap<Path, Holder> HOLDERS = new ConcurrentHashMap<>();
    private static final Duration FIRST_PAUSE = Duration.ofMillis(2);
    private static final Duration LONGEST_PAUSE = Duration.ofMillis(50);

    private final Ticker ticker;

    LockFiles(Ticker ticker) {
        this.ticker = ticker;
    }

    /** The file lock of one path, shared by every store instance of this JVM. */
    private static final class Holder {
        final ReentrantLock inProcess = new ReentrantLock();
        FileChannel channel;
        FileLock fileLock;
    }

    StoreLock acquire(Path lockFile, Duration maxWait) {
        Path key = canonical(lockFile);
        Holder h = holderOf(key);
        long deadline = ticker.nanoTime() + maxWait.toNanos();
        Duration pause = FIRST_PAUSE;
        boolean inProcess = false;
        try {
            while (true) {
                if (!inProcess) {
                    inProcess = h.inProcess.tryLock();
                }
                if (inProcess) {
                    if (h.inProcess.getHoldCount() > 1) {
                        inProcess = false; // this thread already holds the file lock too
                        return new Handle(h, true);
                    }
                    if (h.channel == null) {
                        h.channel = SecureFiles.openPrivateFile(key);
                    }
                    FileLock fl = tryLock(h.channel);
                    if (fl != null) {
                        h.fileLock = fl;
                        recordHolder(h.channel);
                        if (!h.channel.isOpen()) {
                            // The pid write is interruptible: an interrupt closed the channel, and with
                            // it the fcntl lock. A handle now would guard nothing.
                            h.fileLock = null;
                            throw new StoreException(key.toString(), "interrupted while taking the lock");
                        }
                        inProcess = false; // ownership passes to the returned handle
                        return new Handle(h, false);
                    }
                }
                if (ticker.nanoTime() - deadline >= 0) {
                    throw new StoreException(key.toString(), "timed out after " + maxWait.toMillis()
                            + " ms waiting for the lock, held by " + holderDescription(h, inProcess));
                }
                ticker.pause(pause);
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    throw new StoreException(key.toString(), "interrupted while waiting for the lock");
                }
                pause = pause.multipliedBy(2).compareTo(LONGEST_PAUSE) > 0 ? LONGEST_PAUSE : pause.multipliedBy(2);
            }
        } catch (IOException e) {
            throw new StoreException(key.toString(), "cannot open or lock the lock file: " + e.getMessage(), e);
        } finally {
            if (inProcess) {
                closeChannel(h);
                h.inProcess.unlock();
            }
        }
    }

    /**
     * Who holds the lock now, or empty when it is free, without taking it: a shared lock on a
     * read-only descriptor is tried and released, so nothing is written (not even the pid). The
     * JVM-wide lock is held meanwhile, so that closing that descriptor cannot drop a lock another
     * thread of this JVM takes in between.
     */
    Optional<String> holder(Path lockFile) throws IOException {
        Path key = canonical(lockFile);
        Holder h = holderOf(key);
        if (h.inProcess.isHeldByCurrentThread()) {
            return Optional.of("this thread (pid " + Pid.CURRENT + ")");
        }
        if (!h.inProcess.tryLock()) {
            return Optional.of(holderDescription(h, false)); // and no descriptor of ours is opened and closed under it
        }
        try {
            PathFacts facts = PathFacts.of(key);
            if (!facts.exists()) {
                return Optional.empty();
            }
            if (facts.symlink() || !facts.regularFile()) {
                throw new IOException(key + " is not a regular file"); // opening a FIFO would block
            }
            try (FileChannel ch = FileChannel.open(key, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                FileLock probe;
                try {
                    probe = ch.tryLock(0, Long.MAX_VALUE, true);
                } catch (OverlappingFileLockException e) {
                    probe = null; // this JVM holds it through another path (a hard link)
                }
                if (probe != null) {
                    probe.release();
                    return Optional.empty();
                }
                return Optional.of(describeRecorded(ch));
            }
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } finally {
            h.inProcess.unlock();
        }
    }

    /**
     * The key under which this JVM shares one holder per lock file: the directory's real path, so
     * that two store instances naming it through different paths (a symlinked parent) share one
     * holder. With separate holders, the second one's channel would be closed on timeout, and
     * closing any descriptor of a file drops every fcntl lock this process holds on it.
     */
    private static Path canonical(Path lockFile) {
        Path absolute = lockFile.toAbsolutePath().normalize();
        try {
            return absolute.getParent().toRealPath().resolve(absolute.getFileName());
        } catch (IOException e) {
            return absolute; // no directory yet: opening the lock file below fails with a clear message
        }
    }

    private static Holder holderOf(Path key) {
        Holder h = HOLDERS.get(key);
        if (h == null) {
            Holder made = new Holder();
            h = HOLDERS.putIfAbsent(key, made);
            if (h == null) {
                h = made;
            }
        }
        return h;
    }

    /** A held lock whose second close is a no-op, so a double close cannot release someone else's hold. */
    private static final class Handle implements StoreLock {
        private final Holder holder;
        /** Only another hold of the in-process lock by a thread that holds the file lock already. */
        private final boolean reentered;
        private final AtomicBoolean released = new AtomicBoolean();

        Handle(Holder holder, boolean reentered) {
            this.holder = holder;
            this.reentered = reentered;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                if (reentered) {
                    holder.inProcess.unlock();
                } else {
                    release(holder);
                }
            }
        }
    }

    /**
     * The file lock, or null while another process holds it. Another path naming the same file
     * (a hard link) has its own in-process lock; this JVM's lock on it then counts as busy too.
     */
    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    private static void release(Holder h) {
        if (!h.inProcess.isHeldByCurrentThread()) {
            throw new IllegalMonitorStateException("a store lock must be closed by the thread that took it");
        }
        try {
            if (h.fileLock != null) {
                h.fileLock.release();
            }
        } catch (IOException e) {
            // Closing the channel below releases the lock anyway.
        } finally {
            h.fileLock = null;
            closeChannel(h);
            h.inProcess.unlock();
        }
    }

    private static void closeChannel(Holder h) {
        if (h.channel != null) {
            try {
                h.channel.close();
            } catch (IOException e) {
                // Nothing was written through it that matters; the descriptor is gone either way.
            }
            h.channel = null;
        }
    }

    /** Best effort: the pid is diagnostics only, and a full disk must not stop the lock holder. */
    private static void recordHolder(FileChannel ch) {
        byte[] line = ("pid " + Pid.CURRENT + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            ch.write(ByteBuffer.wrap(line), 0);
            ch.truncate(line.length);
        } catch (IOException e) {
            // A stale or missing pid only makes a timeout message less precise.
        }
    }

    /**
     * Who holds the lock: another thread of this JVM, or the pid the other process wrote. Reads
     * through our own descriptor only (opening and closing another would drop locks this JVM holds).
     */
    private static String holderDescription(Holder h, boolean inProcess) {
        if (!inProcess) {
            return "another thread of this process (pid " + Pid.CURRENT + ")";
        }
        return describeRecorded(h.channel);
    }

    /**
     * The pid the holder wrote, if that process still runs: a process that locks the file without
     * writing its pid (not msi-agent) leaves the previous holder's, which must not be named.
     */
    private static String describeRecorded(FileChannel ch) {
        try {
            ByteBuffer buf = ByteBuffer.allocate(64);
            ch.read(buf, 0);
            String text = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).trim();
            if (!text.startsWith("pid ")) {
                return "another process (pid unknown)";
            }
            String pid = text.substring(4);
            return pid.chars().allMatch(Character::isDigit) && Files.isDirectory(Path.of("/proc", pid)) ? "process " + pid
                    : "another process (pid unknown: the lock file names " + pid + ", which does not run in this pid namespace)";
        } catch (IOException e) {
            return "another process (pid unknown)";
        }
    }

    /**
     * This process's id, read from {@code /proc/self}: {@code ProcessHandle.current()} starts the
     * JDK's process-reaper machinery, ~12 ms of a fresh JVM's first store lock. Where the mounted
     * {@code /proc} belongs to another PID namespace than the process (a host /proc bind-mounted
     * into a container), this is the pid as that /proc numbers it; it is only ever shown to people.
     */
    private static final class Pid {
        static final long CURRENT = read();

        private static long read() {
            try {
                return Long.parseLong(Files.readSymbolicLink(Path.of("/proc/self")).toString());
            } catch (IOException | RuntimeException e) {
                return ProcessHandle.current().pid();
            }
        }
    }
}
