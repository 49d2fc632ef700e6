package io.msiagent.core;

import io.msiagent.core.spi.KeyProvider;
import io.msiagent.core.spi.ManagedKey;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.HexFormat;

/** RSA-2048 keys in process memory ({@link KeyProtection#SOFTWARE}): works everywhere, the fallback. */
public final class SoftwareKeyProvider implements KeyProvider {
    @Override
    public String name() {
        return "software";
    }

    @Override
    public boolean isSupported() {
        return true;
    }

    @Override
    public KeyProtection bestAvailableProtection() {
        return KeyProtection.SOFTWARE;
    }

    @Override
    public ManagedKey create(KeyProtection minimum) {
        if (!KeyProtection.SOFTWARE.isAtLeast(minimum)) {
            throw new KeyProtectionException(minimum, KeyProtection.SOFTWARE, "the software key provider makes in-memory keys only", null);
        }
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return wrap(generator.generateKeyPair());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA-2048 key generation is not available in this JVM", e);
        }
    }

    /** An in-memory RSA key pair as a {@link ManagedKey} with {@link KeyProtection#SOFTWARE} protection. */
    static ManagedKey wrap(KeyPair keys) {
        return new SoftwareKey(keys);
    }

    /** Upper-case hex SHA-256 of modulus || exponent: the id of an unnamed RSA key. */
    static String rsaKeyId(PublicKey publicKey) {
        RSAPublicKey rsa = (RSAPublicKey) publicKey;
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            sha256.update(unsigned(rsa.getModulus()));
            sha256.update(unsigned(rsa.getPublicExponent()));
            return HexFormat.of().withUpperCase().formatHex(sha256.digest());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ByteBuffer unsigned(BigInteger value) {
        byte[] bytes = value.toByteArray();
        int skip = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
        return ByteBuffer.wrap(bytes, skip, bytes.length - skip);
    }

    private static final class SoftwareKey implements ManagedKey {
        private final KeyPair keys;
        private final String keyId;

        SoftwareKey(KeyPair keys) {
            this.keys = keys;
            this.keyId = rsaKeyId(keys.getPublic());
        }

        @Override
        public PublicKey publicKey() {
            return keys.getPublic();
        }

        @Override
        public PrivateKey privateKey() {
            return keys.getPrivate();
        }

        @Override
        public KeyProtection protection() {
            return KeyProtection.SOFTWARE;
        }

        @Override
        public Provider signatureProvider() {
            return null;
        }

        @Override
        public String keyId() {
            return keyId;
        }

        @Override
        public String toString() {
            return "SoftwareKey[" + keyId + "]";
        }
    }
}
