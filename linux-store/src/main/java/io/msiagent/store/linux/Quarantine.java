package io.msiagent.store.linux;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Corrupt entries are moved aside inside the store directory, never silently deleted:
 * {@code <file>.corrupt-<UTC yyyyMMddTHHmmssZ>[-n]}, keeping their 0600 mode. At most
 * {@value #KEEP} quarantine events are kept per identity, the oldest removed first.
 */
final class Quarantine {
    static final int KEEP = 3;

    /** In a holder: a pattern formatter costs every store's start-up a few ms, and quarantines are rare. */
    private static final class Stamp {
        static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    }

    private final Clock clock;

    Quarantine(Clock clock) {
        this.clock = clock;
    }

    /** Moves the entry's files aside under one stamp; returns where they went. */
    List<Path> quarantine(EntryFiles f) throws IOException {
        String stamp = Stamp.FORMAT.format(clock.instant());
        String unique = stamp;
        for (int n = 1; anyExists(f, unique); n++) {
            unique = stamp + "-" + n;
        }
        List<Path> moved = new ArrayList<>();
        for (Path p : f.entryFiles()) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Path target = target(p, unique);
                Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
                moved.add(target);
            }
        }
        SecureFiles.fsyncDirectory(f.directory());
        prune(f, moved.isEmpty() ? null : EventKey.of(moved.get(0)));
        return moved;
    }

    /** The entry's quarantined files, any age. */
    List<Path> list(EntryFiles f) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(f.directory())) {
            for (Path p : ds) {
                if (f.isQuarantined(p.getFileName().toString())) {
                    found.add(p);
                }
            }
        }
        return found;
    }

    /**
     * Keeps the {@link #KEEP} newest events by stamp, and always {@code justMoved}: after the clock
     * was set back (a VM before its time sync) the event just made has the oldest stamp, and
     * deleting it would destroy what the caller was just told was moved aside.
     */
    private void prune(EntryFiles f, EventKey justMoved) throws IOException {
        Map<EventKey, List<Path>> events = new TreeMap<>(Comparator.comparing(EventKey::stamp)
                .thenComparingInt(EventKey::sequence));
        for (Path p : list(f)) {
            events.computeIfAbsent(EventKey.of(p), k -> new ArrayList<>()).add(p);
        }
        int excess = events.size() - KEEP;
        for (Map.Entry<EventKey, List<Path>> oldest : events.entrySet()) {
            if (excess <= 0) {
                break;
            }
            if (oldest.getKey().equals(justMoved)) {
                continue;
            }
            excess--;
            for (Path p : oldest.getValue()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static boolean anyExists(EntryFiles f, String stamp) {
        return f.entryFiles().stream().anyMatch(p -> Files.exists(target(p, stamp), LinkOption.NOFOLLOW_LINKS));
    }

    private static Path target(Path file, String stamp) {
        return file.resolveSibling(file.getFileName() + EntryFiles.QUARANTINE_MARKER + stamp);
    }

    /** One quarantine event: its stamp and the {@code -n} suffix that kept it unique within a second. */
    private record EventKey(String stamp, int sequence) {
        static EventKey of(Path p) {
            String name = p.getFileName().toString();
            String suffix = name.substring(name.lastIndexOf(EntryFiles.QUARANTINE_MARKER)
                    + EntryFiles.QUARANTINE_MARKER.length());
            int dash = suffix.indexOf('-');
            if (dash < 0) {
                return new EventKey(suffix, 0);
            }
            try {
                return new EventKey(suffix.substring(0, dash), Integer.parseInt(suffix.substring(dash + 1)));
            } catch (NumberFormatException e) {
                return new EventKey(suffix, 0);
            }
        }
    }
}
