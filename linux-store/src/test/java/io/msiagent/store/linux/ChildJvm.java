package io.msiagent.store.linux;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Starts {@link StoreChild} in a separate JVM with this test's classpath. */
final class ChildJvm {
    private ChildJvm() {
    }

    static Process start(Path stderrLog, String... args) throws IOException {
        return new ProcessBuilder(command(args)).redirectError(stderrLog.toFile()).start();
    }

    /** The same child, run through {@code sh -c 'umask <umask>; exec java ...'}. */
    static Process startWithUmask(String umask, Path stderrLog, String... args) throws IOException {
        StringBuilder sh = new StringBuilder("umask ").append(umask).append("; exec");
        for (String part : command(args)) {
            sh.append(" '").append(part.replace("'", "'\\''")).append('\'');
        }
        return new ProcessBuilder("sh", "-c", sh.toString()).redirectError(stderrLog.toFile()).start();
    }

    /** Waits (bounded) for the first stdout line. */
    static String firstLine(Process p, long timeoutSeconds) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        return CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (IOException e) {
                return null;
            }
        }).get(timeoutSeconds, TimeUnit.SECONDS);
    }

    /** Waits (bounded) for the exit and returns all stdout. */
    static String finish(Process p, long timeoutSeconds) throws Exception {
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child did not finish in " + timeoutSeconds + " s");
        }
        return out.get(5, TimeUnit.SECONDS);
    }

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-Xshare:auto");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(StoreChild.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }
}
