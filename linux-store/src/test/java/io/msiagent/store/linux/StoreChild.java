package io.msiagent.store.linux;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The child-process side of the multi-process tests. Modes:
 * <ul>
 *   <li>{@code acquire <dir> <counterFile>}: what the engine does cold: lock, load, and if absent
 *       "issue" (a fresh credential from a throwaway CA; one line appended to the counter file
 *       under the lock), save; prints the x5t#S256 it ends up with.</li>
 *   <li>{@code hold-lock <dir>}: takes the system identity's lock, prints {@code LOCKED}, parks.</li>
 *   <li>{@code save-loop <dir> <pkcs12> <seedDir>...}: loads the system credential of each seed
 *       store (made by the parent: no key generation here), saves each once (warm-up: class
 *       loading and JIT out of the way), prints {@code READY}, then saves them in turn into
 *       {@code dir} until killed.</li>
 *   <li>{@code save-once <dir>}: saves one credential (with a PKCS#12 file), prints {@code SAVED}.</li>
 * </ul>
 */
public final class StoreChild {
    private static final ManagedIdentityId ID = ManagedIdentityId.systemAssigned();

    private StoreChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "acquire" -> acquire(dir, Path.of(args[2]));
            case "hold-lock" -> holdLock(dir);
            case "save-loop" -> saveLoop(dir, Boolean.parseBoolean(args[2]), List.of(args).subList(3, args.length));
            case "save-once" -> saveOnce(dir);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void acquire(Path dir, Path counter) throws Exception {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        MtlsCredential c;
        try (StoreLock lock = store.lock(ID, Duration.ofMinutes(3))) {
            LoadResult r = store.load(ID);
            if (r.kind() == LoadResult.Kind.FOUND) {
                c = r.credential().orElseThrow();
            } else {
                c = TestCredentials.newCa().credential(ID);
                Files.write(counter, ("issued " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII),
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                store.save(c);
            }
        }
        System.out.println(c.x5tS256());
    }

    private static void holdLock(Path dir) {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).build();
        StoreLock lock = store.lock(ID, Duration.ofSeconds(30));
        System.out.println("LOCKED");
        System.out.flush();
        for (int i = 0; i < 600; i++) { // bounded: the parent kills us long before
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
        lock.close();
    }

    private static void saveLoop(Path dir, boolean pkcs12, List<String> seedDirs) {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).writePkcs12(pkcs12).build();
        List<MtlsCredential> generations = new ArrayList<>();
        for (String seed : seedDirs) {
            generations.add(LinuxCredentialStore.builder().directory(Path.of(seed)).build().load(ID).credential()
                    .orElseThrow());
        }
        generations.forEach(store::save);
        System.out.println("READY");
        System.out.flush();
        for (int i = 0; i < 1_000_000; i++) { // bounded: the parent kills us long before
            store.save(generations.get(i % generations.size()));
        }
    }

    private static void saveOnce(Path dir) {
        LinuxCredentialStore store = LinuxCredentialStore.builder().directory(dir).writePkcs12(true).build();
        store.save(TestCredentials.newCa().credential(ID));
        System.out.println("SAVED");
    }
}
