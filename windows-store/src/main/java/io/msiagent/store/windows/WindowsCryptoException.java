package io.msiagent.store.windows;

import java.util.Locale;

/** A Windows call failed: which one, and its status ({@code SECURITY_STATUS}, HRESULT or Win32 error). */
public final class WindowsCryptoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final int status;

    public WindowsCryptoException(String operation, int status) {
        super(operation + " failed: " + hex(status) + WinApi.describe(status));
        this.operation = operation;
        this.status = status;
    }

    public String operation() {
        return operation;
    }

    public int status() {
        return status;
    }

    public static String hex(int status) {
        return String.format(Locale.ROOT, "0x%08X", status);
    }
}
