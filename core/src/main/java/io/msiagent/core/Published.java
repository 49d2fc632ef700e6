package io.msiagent.core;

import io.msiagent.imds.TokenType;
import java.security.cert.X509Certificate;

/**
 * One published generation with everything the hot paths need precomputed, so that serving it
 * allocates nothing: the key-manager alias, the chain as an array, the default token type.
 */
final class Published {
    final MtlsCredential credential;
    final String alias;
    final X509Certificate[] chain;
    final String x5tS256;
    final TokenType defaultTokenType;

    Published(MtlsCredential credential) {
        this.credential = credential;
        this.alias = "msi-" + credential.generation();
        this.chain = credential.chain().toArray(new X509Certificate[0]);
        this.x5tS256 = credential.x5tS256();
        this.defaultTokenType = credential.attested() ? TokenType.MTLS_POP : TokenType.BEARER;
    }
}
