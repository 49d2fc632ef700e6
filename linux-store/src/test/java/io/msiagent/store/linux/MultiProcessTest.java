package io.msiagent.store.linux;

import static io.msiagent.store.linux.LinuxCredentialStoreTest.SYSTEM;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Invariant 3: N processes starting cold against one store cause exactly one issuance. */
class MultiProcessTest {
    private static final int PROCESSES = 16;

    @TempDir
    Path tmp;

    @Test
    void sixteenColdProcessesIssueOnceAndAgreeOnTheCredential() throws Exception {
        Path dir = tmp.resolve("certs");
        Path counter = tmp.resolve("issuances.txt");
        List<Process> children = new ArrayList<>();
        try {
            for (int i = 0; i < PROCESSES; i++) {
                children.add(ChildJvm.start(tmp.resolve("child-" + i + ".err"), "acquire", dir.toString(), counter.toString()));
            }
            Set<String> thumbprints = new HashSet<>();
            for (int i = 0; i < PROCESSES; i++) {
                Process p = children.get(i);
                String out = ChildJvm.finish(p, 300).trim();
                int child = i;
                assertEquals(0, p.exitValue(), () -> PermissionsTest.readQuietly(tmp.resolve("child-" + child + ".err")));
                thumbprints.add(out);
            }
            assertEquals(1, Files.readAllLines(counter).size(), "issuances: " + Files.readAllLines(counter));
            String stored = LinuxCredentialStore.builder().directory(dir).build().load(SYSTEM).credential().orElseThrow()
                    .x5tS256();
            assertEquals(Set.of(stored), thumbprints);
        } finally {
            children.forEach(Process::destroyForcibly);
        }
    }
}
