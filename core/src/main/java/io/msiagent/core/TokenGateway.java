package io.msiagent.core;

import io.msiagent.imds.AccessToken;
import io.msiagent.imds.TokenType;

/** The token request the engine makes over its own mTLS context; a seam for tests without ESTS. */
@FunctionalInterface
interface TokenGateway {
    AccessToken requestToken(String tokenEndpoint, String clientId, String resource, TokenType tokenType);
}
