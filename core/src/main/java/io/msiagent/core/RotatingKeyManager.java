package io.msiagent.core;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A client key manager that follows rotation without a new SSLContext. Each generation has its own
 * alias ({@code msi-<generation>}); a handshake picks the current alias once and then asks for that
 * alias's chain and key, so it can never mix generations (invariant 7). The last few generations
 * stay answerable for handshakes that started before a rotation. Server-side methods answer null.
 *
 * <p>A key manager cannot choose the TLS version: that is fixed on the socket before it is asked.
 * A credential whose key cannot sign RSA-PSS ({@link MtlsCredential#tlsRestriction()}) fails every
 * TLS 1.3 handshake, so whoever creates sockets must keep TLS 1.3 off for it:
 * {@link MsiCredentialCache#sslContext()} does, and an {@code SSLContext} of one's own built on this
 * key manager must be wrapped with {@link CredentialTlsContext#wrap}.
 */
final class RotatingKeyManager extends X509ExtendedKeyManager {
    private final MsiCredentialCache cache;

    RotatingKeyManager(MsiCredentialCache cache) {
        this.cache = cache;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return choose(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return choose(keyTypes);
    }

    /*
     * Issuers are deliberately not matched: servers often send an empty or unrelated list, and
     * we have exactly one credential to offer.
     */
    private String choose(String[] keyTypes) {
        if (!acceptsRsa(keyTypes)) {
            return null;
        }
        Published p = cache.currentOrAcquire();
        return p == null ? null : p.alias;
    }

    private static boolean acceptsRsa(String[] keyTypes) {
        if (keyTypes == null) {
            return true;
        }
        for (String type : keyTypes) {
            if ("RSA".equalsIgnoreCase(type) || "RSASSA-PSS".equalsIgnoreCase(type)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        if (keyType != null && !acceptsRsa(new String[] {keyType})) {
            return null;
        }
        Published p = cache.currentPublished();
        return p == null ? null : new String[] {p.alias};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Published p = cache.publishedFor(alias);
        return p == null ? null : p.credential.chain().toArray(new X509Certificate[0]);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Published p = cache.publishedFor(alias);
        return p == null ? null : p.credential.privateKey();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return null;
    }
}
