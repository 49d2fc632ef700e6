package io.msiagent.store.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** What {@code lstat(2)} says about a path: never follows a symlink. */
record PathFacts(boolean exists, int uid, int mode) {
    private static final int TYPE_MASK = 0170000;
    private static final int TYPE_LINK = 0120000;
    private static final int TYPE_REGULAR = 0100000;
    private static final int TYPE_DIRECTORY = 0040000;
    static final int GROUP_OTHER_BITS = 0077;

    static PathFacts of(Path path) throws IOException {
        try {
            Map<String, Object> a = Files.readAttributes(path, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
            return new PathFacts(true, (Integer) a.get("uid"), (Integer) a.get("mode"));
        } catch (NoSuchFileException e) {
            return new PathFacts(false, -1, 0);
        }
    }

    boolean symlink() {
        return (mode & TYPE_MASK) == TYPE_LINK;
    }

    boolean regularFile() {
        return (mode & TYPE_MASK) == TYPE_REGULAR;
    }

    boolean directory() {
        return (mode & TYPE_MASK) == TYPE_DIRECTORY;
    }

    int permissions() {
        return mode & 07777;
    }

    String octal() {
        return String.format("%04o", permissions());
    }
}
