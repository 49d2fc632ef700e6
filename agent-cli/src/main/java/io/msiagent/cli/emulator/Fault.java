package io.msiagent.cli.emulator;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * One misbehaviour the emulator can produce instead of (or on top of) a correct reply. Build with
 * the static factories; queue with {@link Faults#next}.
 */
public final class Fault {

    /** What goes wrong. Each kind applies to some paths only; a rule without a path waits for a path it fits. */
    public enum Kind {
        /** Reply this HTTP status with an error body (429/503 may carry Retry-After). */
        STATUS(EnumSet.allOf(EmulatorPath.class)),
        /** Wait this long, then answer normally. */
        DELAY(EnumSet.allOf(EmulatorPath.class)),
        /** 200 with a body that is not JSON. */
        GARBAGE_JSON(EnumSet.allOf(EmulatorPath.class)),
        /** 200 with the correct JSON cut in half (the HTTP message itself is complete). */
        TRUNCATED_JSON(EnumSet.allOf(EmulatorPath.class)),
        /** 200 with a body of {@link #bodyBytes()} bytes. */
        HUGE_BODY(EnumSet.allOf(EmulatorPath.class)),
        /** The correct JSON without the named top-level fields. */
        MISSING_FIELDS(EnumSet.allOf(EmulatorPath.class)),
        /** Close the connection without any reply (the client reads EOF). */
        DROP_CONNECTION(EnumSet.allOf(EmulatorPath.class)),
        /** The Server header is {@link #serverHeader()} instead of an IMDS one. */
        WRONG_SERVER_HEADER(EnumSet.of(EmulatorPath.PLATFORM_METADATA, EmulatorPath.ISSUE_CREDENTIAL)),
        /** No Server header at all. */
        MISSING_SERVER_HEADER(EnumSet.of(EmulatorPath.PLATFORM_METADATA, EmulatorPath.ISSUE_CREDENTIAL)),
        /** issuecredential returns a certificate for a different public key than the CSR's. */
        CERTIFICATE_FOR_OTHER_KEY(EnumSet.of(EmulatorPath.ISSUE_CREDENTIAL)),
        /** issuecredential returns a certificate that has already expired. */
        EXPIRED_CERTIFICATE(EnumSet.of(EmulatorPath.ISSUE_CREDENTIAL)),
        /** issuecredential returns a certificate valid only from tomorrow. */
        FUTURE_CERTIFICATE(EnumSet.of(EmulatorPath.ISSUE_CREDENTIAL)),
        /** The token endpoint answers invalid_client with an AADSTS code. */
        INVALID_CLIENT(EnumSet.of(EmulatorPath.TOKEN)),
        /**
         * The token endpoint's next full TLS handshake refuses the client certificate (a pooled
         * connection or a resumed session has no certificate check to fail: use a fresh client).
         */
        TLS_REFUSAL(EnumSet.of(EmulatorPath.TOKEN));

        private final Set<EmulatorPath> paths;

        Kind(Set<EmulatorPath> paths) {
            this.paths = paths;
        }

        public boolean appliesTo(EmulatorPath path) {
            return paths.contains(path);
        }

        public String specName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Kind parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown fault kind '" + name + "'", e);
            }
        }
    }

    public static final long DEFAULT_HUGE_BODY_BYTES = 10L * 1024 * 1024;
    public static final String DEFAULT_WRONG_SERVER = "I_MDS/150.870.65.1854";
    public static final int DEFAULT_INVALID_CLIENT_CODE = 700027;

    private final Kind kind;
    private final int status;
    private final Duration retryAfter;
    private final Duration delay;
    private final long bodyBytes;
    private final List<String> fields;
    private final String serverHeader;
    private final int aadstsCode;

    private Fault(Kind kind, int status, Duration retryAfter, Duration delay, long bodyBytes, List<String> fields,
            String serverHeader, int aadstsCode) {
        this.kind = kind;
        this.status = status;
        this.retryAfter = retryAfter;
        this.delay = delay;
        this.bodyBytes = bodyBytes;
        this.fields = List.copyOf(fields);
        this.serverHeader = serverHeader;
        this.aadstsCode = aadstsCode;
    }

    private static Fault of(Kind kind) {
        return new Fault(kind, 0, null, null, 0, List.of(), null, 0);
    }

    /** Reply {@code status} (e.g. 404, 410, 500, 503) with an error body. */
    public static Fault status(int status) {
        return status(status, null);
    }

    /** Reply {@code status} with a Retry-After header of whole seconds (null: none). */
    public static Fault status(int status, Duration retryAfter) {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("not an HTTP status: " + status);
        }
        return new Fault(Kind.STATUS, status, retryAfter, null, 0, List.of(), null, 0);
    }

    public static Fault delay(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("negative delay");
        }
        return new Fault(Kind.DELAY, 0, null, delay, 0, List.of(), null, 0);
    }

    public static Fault garbageJson() {
        return of(Kind.GARBAGE_JSON);
    }

    public static Fault truncatedJson() {
        return of(Kind.TRUNCATED_JSON);
    }

    public static Fault hugeBody() {
        return hugeBody(DEFAULT_HUGE_BODY_BYTES);
    }

    public static Fault hugeBody(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("body size must be positive");
        }
        return new Fault(Kind.HUGE_BODY, 0, null, null, bytes, List.of(), null, 0);
    }

    /** Leave out these top-level JSON fields (e.g. {@code clientId}, {@code certificate}). */
    public static Fault missingFields(String... fields) {
        if (fields.length == 0) {
            throw new IllegalArgumentException("name at least one field");
        }
        return new Fault(Kind.MISSING_FIELDS, 0, null, null, 0, List.of(fields), null, 0);
    }

    public static Fault dropConnection() {
        return of(Kind.DROP_CONNECTION);
    }

    public static Fault wrongServerHeader() {
        return wrongServerHeader(DEFAULT_WRONG_SERVER);
    }

    public static Fault wrongServerHeader(String value) {
        return new Fault(Kind.WRONG_SERVER_HEADER, 0, null, null, 0, List.of(), Objects.requireNonNull(value), 0);
    }

    public static Fault missingServerHeader() {
        return of(Kind.MISSING_SERVER_HEADER);
    }

    public static Fault certificateForOtherKey() {
        return of(Kind.CERTIFICATE_FOR_OTHER_KEY);
    }

    public static Fault expiredCertificate() {
        return of(Kind.EXPIRED_CERTIFICATE);
    }

    public static Fault futureCertificate() {
        return of(Kind.FUTURE_CERTIFICATE);
    }

    /** 400 invalid_client with AADSTS700027. */
    public static Fault invalidClient() {
        return invalidClient(400, DEFAULT_INVALID_CLIENT_CODE);
    }

    /** invalid_client with this status and AADSTS code (e.g. 401 / 1000613 for an attestation problem). */
    public static Fault invalidClient(int status, int aadstsCode) {
        return new Fault(Kind.INVALID_CLIENT, status, null, null, 0, List.of(), null, aadstsCode);
    }

    public static Fault tlsRefusal() {
        return of(Kind.TLS_REFUSAL);
    }

    public Kind kind() {
        return kind;
    }

    public int status() {
        return status;
    }

    /** Retry-After for {@link Kind#STATUS}, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public Duration delay() {
        return delay;
    }

    public long bodyBytes() {
        return bodyBytes;
    }

    public List<String> fields() {
        return fields;
    }

    public String serverHeader() {
        return serverHeader;
    }

    public int aadstsCode() {
        return aadstsCode;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(kind.specName());
        switch (kind) {
            case STATUS -> {
                b.append(' ').append(status);
                if (retryAfter != null) {
                    b.append(" retry-after=").append(retryAfter.toSeconds()).append('s');
                }
            }
            case DELAY -> b.append(' ').append(delay);
            case HUGE_BODY -> b.append(' ').append(bodyBytes).append(" bytes");
            case MISSING_FIELDS -> b.append(' ').append(String.join(",", fields));
            case WRONG_SERVER_HEADER -> b.append(' ').append(serverHeader);
            case INVALID_CLIENT -> b.append(' ').append(status).append(" AADSTS").append(aadstsCode);
            default -> {
            }
        }
        return b.toString();
    }
}
