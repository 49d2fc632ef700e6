package io.msiagent.store.windows;

import io.msiagent.core.KeyProtection;
import io.msiagent.core.spi.ManagedKey;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A freshly created CNG key for one credential generation. */
final class CngManagedKey implements ManagedKey {
    private static final Logger LOG = LoggerFactory.getLogger(CngManagedKey.class);

    private final RSAPublicKey publicKey;
    private final CngPrivateKey privateKey;

    CngManagedKey(RSAPublicKey publicKey, CngPrivateKey privateKey) {
        this.publicKey = publicKey;
        this.privateKey = privateKey;
        MsiAgentCngProvider.install(); // so that JSSE and Signature.getInstance(alg) find a signer for it
    }

    @Override
    public PublicKey publicKey() {
        return publicKey;
    }

    @Override
    public PrivateKey privateKey() {
        return privateKey;
    }

    @Override
    public KeyProtection protection() {
        return privateKey.protection();
    }

    @Override
    public Provider signatureProvider() {
        return MsiAgentCngProvider.install();
    }

    @Override
    public String keyId() {
        return privateKey.keyName();
    }

    /** Deletes the never-used key from its provider (best effort: a leftover key holds no credential). */
    @Override
    public void discard() {
        try {
            privateKey.keyHandle().deleteKey();
        } catch (RuntimeException e) {
            LOG.warn("could not delete unused CNG key {}: {}", privateKey.keyName(), e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "CngManagedKey[" + privateKey + "]";
    }
}
