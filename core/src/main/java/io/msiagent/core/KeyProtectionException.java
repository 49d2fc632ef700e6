package io.msiagent.core;

/** The key provider could not reach the configured minimum protection (it fails closed). */
public class KeyProtectionException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    private final KeyProtection required;
    private final KeyProtection available;

    public KeyProtectionException(KeyProtection required, KeyProtection available, String detail, Throwable cause) {
        super("Key protection " + required + " is required but only " + available + " is available"
                + (detail != null ? " (" + detail + ")" : "")
                + ". Lower the minimum protection or run where " + required + " keys exist.", cause);
        this.required = required;
        this.available = available;
    }

    public KeyProtection required() {
        return required;
    }

    /** The strongest protection this machine offered, or null when unknown. */
    public KeyProtection available() {
        return available;
    }
}
