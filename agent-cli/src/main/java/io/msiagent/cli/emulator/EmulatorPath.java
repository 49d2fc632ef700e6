package io.msiagent.cli.emulator;

import java.util.Locale;

/** The emulated endpoints, as named in stats and fault rules. */
public enum EmulatorPath {
    PLATFORM_METADATA("platformmetadata"),
    ISSUE_CREDENTIAL("issuecredential"),
    TOKEN("token");

    private final String wireName;

    EmulatorPath(String wireName) {
        this.wireName = wireName;
    }

    /** The short name used in stats JSON and fault specs. */
    public String wireName() {
        return wireName;
    }

    /** Accepts the short name, the enum name, or the full IMDS path's last segment. */
    public static EmulatorPath parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (n) {
            case "platformmetadata", "getplatformmetadata", "platform-metadata" -> PLATFORM_METADATA;
            case "issuecredential", "issue-credential" -> ISSUE_CREDENTIAL;
            case "token" -> TOKEN;
            default -> throw new IllegalArgumentException(
                    "unknown path '" + name + "' (platformmetadata, issuecredential, token)");
        };
    }
}
