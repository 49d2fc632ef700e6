package io.msiagent.imds;

import java.time.Duration;
import java.util.Map;

/**
 * The IMDS v2 client: {@code getplatformmetadata} and {@code issuecredential}, with the retry
 * table of the protocol document. Never goes through a proxy. Thread-safe; build once, share.
 *
 * <p>CONTRACT (frozen for the other modules; the implementation is the imds-client issue's).
 */
public final class ImdsClient {
    public static final String DEFAULT_ENDPOINT = "http://169.254.169.254";

    private ImdsClient(Builder b) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** explicit > MSI_AGENT_IMDS_ENDPOINT > AZURE_POD_IDENTITY_AUTHORITY_HOST > http://169.254.169.254. */
    public static String resolveEndpoint(String explicit, Map<String, String> environment) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** The base URL this client talks to, without a trailing slash. */
    public String endpoint() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** GET /metadata/identity/getplatformmetadata?cred-api-version=2.0[&selector]. */
    public PlatformMetadata platformMetadata(IdentitySelector identity) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /**
     * POST /metadata/identity/issuecredential?cred-api-version=2.0[&selector] with
     * {"csr": base64(csrDer), "attestation_token": ...}; the token is omitted when null.
     */
    public IssuedCredential issueCredential(IdentitySelector identity, byte[] csrDer, String attestationToken) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static final class Builder {
        private Builder() {
        }

        /** Base URL; default {@link #resolveEndpoint(String, Map)} of the process environment. */
        public Builder endpoint(String endpoint) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder connectTimeout(Duration timeout) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder readTimeout(Duration timeout) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        /** The total time one call may take, retries and back-off included. */
        public Builder callDeadline(Duration deadline) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder sleeper(Sleeper sleeper) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public ImdsClient build() {
            return new ImdsClient(this);
        }
    }
}
