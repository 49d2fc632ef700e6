package io.msiagent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.msiagent.cli.emulator.ImdsEmulator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs {@code msi-agent} in-process through {@link Main#run(Io, String...)} with captured streams and a test environment. */
final class Cli {
    static final JsonMapper JSON = new JsonMapper();

    record Result(int code, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new UncheckedIOException("stdout is not JSON: " + out + " / stderr: " + err, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private final Map<String, String> env = new HashMap<>();
    private final Path storeDir;

    /** A CLI whose environment points at {@code emu} (or nowhere: IMDS refused) and whose store is {@code storeDir}. */
    Cli(ImdsEmulator emu, Path storeDir) {
        this.storeDir = storeDir;
        env.put("HOME", storeDir.getParent().toString());
        env.put("MSI_AGENT_IMDS_ENDPOINT", emu != null ? emu.imdsEndpoint() : "http://127.0.0.1:1");
        if (emu != null) {
            try {
                Path ca = storeDir.getParent().resolve("emulator-ca.pem");
                Files.writeString(ca, emu.caPem());
                env.put("MSI_AGENT_TRUST_CA", ca.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    Cli env(String name, String value) {
        if (value == null) {
            env.remove(name);
        } else {
            env.put(name, value);
        }
        return this;
    }

    Map<String, String> env() {
        return Map.copyOf(env);
    }

    Path storeDir() {
        return storeDir;
    }

    /** Runs with {@code --store-dir <storeDir>} appended. */
    Result run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--store-dir");
        all.add(storeDir.toString());
        return runExactly(all.toArray(String[]::new));
    }

    Result runExactly(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new Io(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                env), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
