package io.msiagent.store.windows;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The friendly name that marks a {@code CurrentUser\My} entry as ours:
 * {@code msi-agent|id=<identity>|x5t=<x5t#S256>}. Entries without this prefix (MSAL.NET's
 * {@code MSAL|...}, anything else) are never touched. {@code %} and {@code |} in the identity are
 * percent-escaped.
 */
record EntryTag(String identity, String x5t) {
    static final String PREFIX = "msi-agent|";

    String encode() {
        return PREFIX + "id=" + escape(identity) + "|x5t=" + x5t;
    }

    /** The friendly name as {@code CERT_FRIENDLY_NAME_PROP_ID} stores it: UTF-16LE with a terminating NUL. */
    byte[] toPropertyValue() {
        return (encode() + '\0').getBytes(StandardCharsets.UTF_16LE);
    }

    static Optional<EntryTag> fromPropertyValue(byte[] value) {
        String s = new String(value, StandardCharsets.UTF_16LE);
        int nul = s.indexOf('\0');
        return decode(nul >= 0 ? s.substring(0, nul) : s);
    }

    static Optional<EntryTag> decode(String friendlyName) {
        if (friendlyName == null || !friendlyName.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String id = null;
        String x5t = null;
        for (String part : friendlyName.substring(PREFIX.length()).split("\\|")) {
            if (part.startsWith("id=")) {
                id = unescape(part.substring(3));
            } else if (part.startsWith("x5t=")) {
                x5t = part.substring(4);
            }
        }
        return id == null || x5t == null || id.isEmpty() ? Optional.empty() : Optional.of(new EntryTag(id, x5t));
    }

    private static String escape(String s) {
        return s.replace("%", "%25").replace("|", "%7C");
    }

    private static String unescape(String s) {
        return s.replace("%7C", "|").replace("%25", "%");
    }
}
