package io.msiagent.imds;

import java.time.Duration;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The mTLS token request: {@code POST {tokenEndpoint}} with {@code client_id},
 * {@code scope=<resource>/.default}, {@code grant_type=client_credentials} and {@code token_type},
 * over TLS whose client certificate comes from the caller's key manager (inside the socket
 * factory). One retry on 5xx. Thread-safe; build once, share.
 *
 * <p>CONTRACT (frozen for the other modules; the implementation is the imds-client issue's).
 */
public final class MtlsTokenClient {
    private MtlsTokenClient(Builder b) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * @param tokenEndpoint the full {@code .../{tenant}/oauth2/v2.0/token} URL
     * @param resource e.g. {@code https://management.azure.com} (a trailing {@code /.default} is tolerated)
     * @throws TokenEndpointException on an error reply, a transport failure, or a reply whose
     *         {@code token_type} differs from the one asked for
     */
    public AccessToken requestToken(String tokenEndpoint, String clientId, String resource, TokenType tokenType) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static final class Builder {
        private Builder() {
        }

        /** Required: a socket factory whose SSLContext holds our rotating key manager, and its trust manager. */
        public Builder tls(SSLSocketFactory socketFactory, X509TrustManager trustManager) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder connectTimeout(Duration timeout) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder readTimeout(Duration timeout) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder callDeadline(Duration deadline) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public Builder sleeper(Sleeper sleeper) {
            throw new UnsupportedOperationException("not implemented yet");
        }

        public MtlsTokenClient build() {
            return new MtlsTokenClient(this);
        }
    }
}
