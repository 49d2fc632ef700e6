package io.msiagent.cli;

/**
 * The CLI's own output is its stdout/stderr contract, so library logging (slf4j-simple) stays at
 * {@code error} unless {@code -v}/{@code --verbose} asks for the details (then {@code debug}). The
 * store's warnings are the exception: a key file's too-open mode repaired, a world-writable parent,
 * an entry moved aside are for the user to see, so they print as {@code warning: ...} lines, like
 * the CLI's own. slf4j-simple reads these properties once, when the first logger is made.
 */
final class Logging {
    private static final String LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";
    // the Linux store's only: the Windows store's warnings (native-library chatter among them) stay behind -v
    private static final String STORE_LEVEL = "org.slf4j.simpleLogger.log.io.msiagent.store.linux";
    private static final String INTERNAL_VERBOSITY = "slf4j.internal.verbosity";

    private Logging() {
    }

    /**
     * Log lines carry a timestamp only where someone reads them later: with {@code -v} and in the
     * long-running {@code run} and {@code emulator}. (slf4j-simple's date format pulls in
     * java.text and the locale data, which costs a one-shot command more than its real work.)
     */
    static void configure(String[] args, String command) {
        boolean verbose = false;
        for (String a : args) {
            verbose |= a.equals("-v") || a.equals("--verbose");
        }
        if (verbose) {
            System.setProperty(LEVEL, "debug");
        } else if (System.getProperty(LEVEL) == null) {
            System.setProperty(LEVEL, "error");
            if (System.getProperty(STORE_LEVEL) == null) {
                System.setProperty(STORE_LEVEL, "warn");
            }
            System.setProperty("org.slf4j.simpleLogger.warnLevelString", "warning:");
            System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
            System.setProperty("org.slf4j.simpleLogger.showLogName", "false");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (!verbose && System.getProperty(INTERNAL_VERBOSITY) == null) {
            // SLF4J's own notices (e.g. "logging calls during the initialization phase have been
            // intercepted", when the cache's worker logs while the main thread starts SLF4J) are not
            // errors, and stderr carries the one error: line the contract allows; the calls are replayed.
            System.setProperty(INTERNAL_VERBOSITY, "ERROR");
        }
        boolean timestamps = verbose || "run".equals(command) || "emulator".equals(command);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", Boolean.toString(timestamps));
        if (timestamps) {
            System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX");
        }
    }
}
