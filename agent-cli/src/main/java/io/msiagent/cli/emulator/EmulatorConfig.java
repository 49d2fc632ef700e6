package io.msiagent.cli.emulator;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * Everything the emulator can be told; the {@code msi-agent emulator} flags map one to one onto
 * the builder. Defaults: ephemeral ports, a random tenant and system-assigned identity, no
 * user-assigned identities, 7-day certificates valid from now, attestation optional, a fresh CA
 * in memory.
 */
public final class EmulatorConfig {
    public static final Duration MIN_CERT_LIFETIME = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CERT_LIFETIME = Duration.ofDays(7);
    public static final String DEFAULT_VM_ID = "emulated-vm-id";
    public static final String DEFAULT_ATTESTATION_ENDPOINT = "https://emulated.attest.azure.net";

    private final int httpPort;
    private final int tlsPort;
    private final String tenantId;
    private final EmulatedIdentity systemAssigned;
    private final List<EmulatedIdentity> userAssigned;
    private final Duration certLifetime;
    private final Duration certBackdate;
    private final boolean requireAttestation;
    private final boolean requireAttestationForPop;
    private final Path caDir;
    private final EmulatorCa ca;
    private final String vmId;
    private final String vmssId;
    private final String attestationEndpoint;
    private final List<FaultRule> faults;
    private final Clock clock;

    private EmulatorConfig(Builder b) {
        this.httpPort = b.httpPort;
        this.tlsPort = b.tlsPort;
        this.tenantId = b.tenantId;
        this.systemAssigned = b.systemAssigned;
        this.userAssigned = List.copyOf(b.userAssigned);
        this.certLifetime = b.certLifetime;
        this.certBackdate = b.certBackdate;
        this.requireAttestation = b.requireAttestation;
        this.requireAttestationForPop = b.requireAttestationForPop;
        this.caDir = b.caDir;
        this.ca = b.ca;
        this.vmId = b.vmId;
        this.vmssId = b.vmssId;
        this.attestationEndpoint = b.attestationEndpoint;
        this.faults = List.copyOf(b.faults);
        this.clock = b.clock;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** All defaults: ephemeral ports, random ids. */
    public static EmulatorConfig defaults() {
        return builder().build();
    }

    public int httpPort() {
        return httpPort;
    }

    public int tlsPort() {
        return tlsPort;
    }

    public String tenantId() {
        return tenantId;
    }

    public EmulatedIdentity systemAssigned() {
        return systemAssigned;
    }

    public List<EmulatedIdentity> userAssigned() {
        return userAssigned;
    }

    /** The system-assigned identity first, then the user-assigned ones. */
    public List<EmulatedIdentity> identities() {
        List<EmulatedIdentity> all = new ArrayList<>();
        all.add(systemAssigned);
        all.addAll(userAssigned);
        return List.copyOf(all);
    }

    public Duration certLifetime() {
        return certLifetime;
    }

    public Duration certBackdate() {
        return certBackdate;
    }

    public boolean requireAttestation() {
        return requireAttestation;
    }

    public boolean requireAttestationForPop() {
        return requireAttestationForPop;
    }

    /** Where the CA key and certificate are loaded from / saved to, or null for an in-memory CA. */
    public Path caDir() {
        return caDir;
    }

    /** A CA given in-process (shared by several emulators), or null. */
    public EmulatorCa ca() {
        return ca;
    }

    public String vmId() {
        return vmId;
    }

    /** Null unless the emulated machine is a VMSS instance. */
    public String vmssId() {
        return vmssId;
    }

    public String attestationEndpoint() {
        return attestationEndpoint;
    }

    /** Faults queued at start. */
    public List<FaultRule> faults() {
        return faults;
    }

    public Clock clock() {
        return clock;
    }

    public static final class Builder {
        private int httpPort;
        private int tlsPort;
        private String tenantId = UUID.randomUUID().toString();
        private EmulatedIdentity systemAssigned = EmulatedIdentity.randomSystemAssigned();
        private final List<EmulatedIdentity> userAssigned = new ArrayList<>();
        private Duration certLifetime = DEFAULT_CERT_LIFETIME;
        private Duration certBackdate = Duration.ZERO;
        private boolean requireAttestation;
        private boolean requireAttestationForPop;
        private Path caDir;
        private EmulatorCa ca;
        private String vmId = DEFAULT_VM_ID;
        private String vmssId;
        private String attestationEndpoint = DEFAULT_ATTESTATION_ENDPOINT;
        private final List<FaultRule> faults = new ArrayList<>();
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /** IMDS (plain HTTP) port on 127.0.0.1; 0 = ephemeral. */
        public Builder httpPort(int port) {
            this.httpPort = port(port);
            return this;
        }

        /** Token endpoint (HTTPS, mutual TLS) port on 127.0.0.1; 0 = ephemeral. */
        public Builder tlsPort(int port) {
            this.tlsPort = port(port);
            return this;
        }

        public Builder tenantId(String tenantId) {
            this.tenantId = text(tenantId, "tenantId");
            return this;
        }

        public Builder systemAssigned(EmulatedIdentity identity) {
            if (!identity.systemAssigned()) {
                throw new IllegalArgumentException("not a system-assigned identity");
            }
            this.systemAssigned = identity;
            return this;
        }

        public Builder addUserAssigned(EmulatedIdentity identity) {
            if (identity.systemAssigned()) {
                throw new IllegalArgumentException("not a user-assigned identity");
            }
            userAssigned.add(identity);
            return this;
        }

        /** Lifetime of issued certificates; at least 10 seconds. */
        public Builder certLifetime(Duration lifetime) {
            Objects.requireNonNull(lifetime, "certLifetime");
            if (lifetime.compareTo(MIN_CERT_LIFETIME) < 0) {
                throw new IllegalArgumentException("certificate lifetime must be at least 10s, was " + lifetime);
            }
            this.certLifetime = lifetime;
            return this;
        }

        /** notBefore = now − backdate (default 0: notBefore is the issuing second). */
        public Builder certBackdate(Duration backdate) {
            if (backdate.isNegative()) {
                throw new IllegalArgumentException("negative backdate");
            }
            this.certBackdate = backdate;
            return this;
        }

        /** issuecredential refuses requests without a non-empty attestation_token. */
        public Builder requireAttestation(boolean require) {
            this.requireAttestation = require;
            return this;
        }

        /** The token endpoint grants mtls_pop only for certificates issued to attested requests. */
        public Builder requireAttestationForPop(boolean require) {
            this.requireAttestationForPop = require;
            return this;
        }

        public Builder caDir(Path dir) {
            this.caDir = dir;
            return this;
        }

        /**
         * Use this CA instead of generating one: test suites that start many emulators share one
         * ({@link EmulatorCa#generate}) and skip an RSA key generation per start. Excludes {@link #caDir}.
         */
        public Builder ca(EmulatorCa ca) {
            this.ca = ca;
            return this;
        }

        public Builder vmId(String vmId) {
            this.vmId = vmId;
            return this;
        }

        public Builder vmssId(String vmssId) {
            this.vmssId = vmssId;
            return this;
        }

        public Builder attestationEndpoint(String url) {
            this.attestationEndpoint = text(url, "attestationEndpoint");
            return this;
        }

        public Builder fault(FaultRule rule) {
            faults.add(Objects.requireNonNull(rule));
            return this;
        }

        /** Where certificate validity and token times come from. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        public EmulatorConfig build() {
            if ((vmId == null || vmId.isBlank()) && (vmssId == null || vmssId.isBlank())) {
                throw new IllegalArgumentException("the compute unit needs a vmId or a vmssId");
            }
            Set<String> ids = new HashSet<>();
            for (EmulatedIdentity id : identitiesOf()) {
                if (!ids.add(id.clientId().toLowerCase(Locale.ROOT)) || !ids.add("o:" + id.objectId().toLowerCase(Locale.ROOT))) {
                    throw new IllegalArgumentException("duplicate client or object id: " + id.clientId());
                }
            }
            if (ca != null && caDir != null) {
                throw new IllegalArgumentException("give either a CA or a CA directory, not both");
            }
            if (httpPort != 0 && httpPort == tlsPort) {
                throw new IllegalArgumentException("HTTP and TLS ports must differ");
            }
            return new EmulatorConfig(this);
        }

        private List<EmulatedIdentity> identitiesOf() {
            List<EmulatedIdentity> all = new ArrayList<>(userAssigned);
            all.add(systemAssigned);
            return all;
        }

        private static int port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            return port;
        }

        private static String text(String s, String name) {
            Objects.requireNonNull(s, name);
            if (s.isBlank()) {
                throw new IllegalArgumentException(name + " must not be blank");
            }
            return s;
        }
    }
}
