package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.testing.TestCredentials;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPublicKey;
import org.junit.jupiter.api.Test;

class KeyMatchTest {
    private static final KeyPair A = TestCredentials.rsa2048();
    private static final KeyPair B = TestCredentials.rsa2048();

    /** Like a CNG key handle: the modulus is readable, the key material is not, and it cannot sign here. */
    private static PrivateKey handleFor(RSAPublicKey pub) {
        final class Handle implements PrivateKey, RSAKey {
            private static final long serialVersionUID = 1L;

            @Override
            public BigInteger getModulus() {
                return pub.getModulus();
            }

            @Override
            public String getAlgorithm() {
                return "RSA";
            }

            @Override
            public String getFormat() {
                return null;
            }

            @Override
            public byte[] getEncoded() {
                return null;
            }
        }
        return new Handle();
    }

    @Test
    void softwareKeysMatchOnlyTheirOwnPublicKey() {
        assertTrue(KeyMatch.matches(A.getPublic(), A.getPrivate()));
        assertFalse(KeyMatch.matches(A.getPublic(), B.getPrivate()));
    }

    @Test
    void handlesThatCannotSignHereAreComparedByModulus() {
        assertTrue(KeyMatch.matches(A.getPublic(), handleFor((RSAPublicKey) A.getPublic())));
        assertFalse(KeyMatch.matches(A.getPublic(), handleFor((RSAPublicKey) B.getPublic())));
    }
}
