package io.msiagent.tests.child;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@link ProofChild} (or another main class) in a fresh JVM: the same {@code java} as this
 * one and this JVM's class path (or {@code -Dproof.childClasspath}). stdout goes to a file (read after exit), stderr to another.
 */
public final class ChildJvm {
    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private ChildJvm(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    public static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The class path children get: {@code -Dproof.childClasspath}, else this JVM's. */
    public static String classPath() {
        return System.getProperty("proof.childClasspath", System.getProperty("java.class.path"));
    }

    /** Starts {@code ProofChild <args>} with extra JVM options and environment. */
    public static ChildJvm start(Path workDir, List<String> jvmOptions, Map<String, String> env, String... args) throws IOException {
        return startMain(workDir, jvmOptions, env, ProofChild.class.getName(), args);
    }

    /** Starts {@code mainClass <args>} on this JVM's class path. */
    public static ChildJvm startMain(Path workDir, List<String> jvmOptions, Map<String, String> env, String mainClass, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xshare:auto");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "child-", ".out");
        Path err = Files.createTempFile(workDir, "child-", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        return new ChildJvm(pb.start(), out, err);
    }

    /** Starts any command (e.g. {@code java -jar msi-agent.jar status}) with the same capture. */
    public static ChildJvm startCommand(Path workDir, List<String> cmd, Map<String, String> env) throws IOException {
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "cmd-", ".out");
        Path err = Files.createTempFile(workDir, "cmd-", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        return new ChildJvm(pb.start(), out, err);
    }

    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    /** Writes one byte to the child's stdin: the start signal a child waiting at a barrier reads. */
    public void signal() throws IOException {
        process.getOutputStream().write('\n');
        process.getOutputStream().flush();
    }

    /** Waits up to {@code seconds}; kills and throws when the child does not finish. Returns stdout. */
    public String await(long seconds) throws IOException, InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("child " + process.pid() + " did not finish in " + seconds + " s; stderr:\n" + stderr());
        }
        return stdout();
    }

    public int exitCode() {
        return process.exitValue();
    }

    public String stdout() throws IOException {
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    public String stderr() throws IOException {
        String s = Files.readString(stderr, StandardCharsets.UTF_8);
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }

    /** SIGKILL, and wait for it to be gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
