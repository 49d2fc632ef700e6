package io.msiagent.cli;

import java.util.Arrays;

/**
 * The CLI's own output is its stdout/stderr contract, so library logging (slf4j-simple) stays at
 * {@code error} unless {@code -v}/{@code --verbose} asks for the details (then {@code debug}).
 * slf4j-simple reads these properties once, when the first logger is made.
 */
final class Logging {
    private static final String LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    private Logging() {
    }

    static void configure(String[] args) {
        boolean verbose = Arrays.stream(args).anyMatch(a -> a.equals("-v") || a.equals("--verbose"));
        if (verbose) {
            System.setProperty(LEVEL, "debug");
        } else if (System.getProperty(LEVEL) == null) {
            System.setProperty(LEVEL, "error");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX");
    }
}
