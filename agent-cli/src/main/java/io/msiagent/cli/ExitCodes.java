package io.msiagent.cli;

/** The exit codes scripts rely on (a contract: keep them exactly). */
public final class ExitCodes {
    public static final int OK = 0;
    /** {@code status}: the credential is due for renewal; {@code doctor}: a check failed. */
    public static final int RENEW_DUE_OR_CHECK_FAILED = 1;
    public static final int NO_USABLE_CREDENTIAL = 2;
    /** IMDS, token endpoint or network failure (including an invalid certificate from IMDS, TLS trust). */
    public static final int REMOTE_FAILURE = 3;
    /** Store failure: permissions, corruption that could not be recovered. */
    public static final int STORE_FAILURE = 4;
    public static final int USAGE = 64;

    private ExitCodes() {
    }
}
