package io.msiagent.core;

import io.msiagent.imds.TokenType;

/**
 * One published generation with what the hot paths need precomputed, so that serving it and its
 * cached tokens allocates nothing: the key-manager alias, the thumbprint, the default token type.
 */
final class Published {
    final MtlsCredential credential;
    final String alias;
    final String x5tS256;
    final TokenType defaultTokenType;

    Published(MtlsCredential credential) {
        this.credential = credential;
        this.alias = "msi-" + credential.generation();
        this.x5tS256 = credential.x5tS256();
        this.defaultTokenType = credential.attested() ? TokenType.MTLS_POP : TokenType.BEARER;
    }
}
