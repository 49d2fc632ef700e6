package io.msiagent.imds;

/** The {@code token_type} asked of the mTLS token endpoint. */
public enum TokenType {
    MTLS_POP("mtls_pop"),
    BEARER("bearer");

    private final String wireName;

    TokenType(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** Case-insensitive; throws IllegalArgumentException for anything else. */
    public static TokenType fromWire(String value) {
        for (TokenType t : values()) {
            if (t.wireName.equalsIgnoreCase(value)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown token_type: " + value);
    }
}
