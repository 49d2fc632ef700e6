package io.msiagent.store.windows;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;

/**
 * {@code BCRYPT_RSAKEY_BLOB} ({@code RSAPUBLICBLOB}): a 24-byte little-endian header
 * {Magic "RSA1", BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2}, then the big-endian
 * public exponent and modulus.
 */
final class RsaPublicBlob {
    static final int HEADER_SIZE = 24;
    static final int BCRYPT_RSAPUBLIC_MAGIC = 0x31415352;

    private RsaPublicBlob() {
    }

    static RSAPublicKey parse(byte[] blob) {
        if (blob.length < HEADER_SIZE) {
            throw new IllegalArgumentException("RSAPUBLICBLOB too short: " + blob.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt();
        int bits = b.getInt();
        int cbExp = b.getInt();
        int cbMod = b.getInt();
        if (magic != BCRYPT_RSAPUBLIC_MAGIC) {
            throw new IllegalArgumentException("not an RSAPUBLICBLOB (magic " + Integer.toHexString(magic) + ")");
        }
        if (cbExp <= 0 || cbMod <= 0 || (long) HEADER_SIZE + cbExp + cbMod > blob.length) {
            throw new IllegalArgumentException("RSAPUBLICBLOB lengths do not fit the blob");
        }
        BigInteger exponent = new BigInteger(1, Arrays.copyOfRange(blob, HEADER_SIZE, HEADER_SIZE + cbExp));
        BigInteger modulus = new BigInteger(1, Arrays.copyOfRange(blob, HEADER_SIZE + cbExp, HEADER_SIZE + cbExp + cbMod));
        if (modulus.bitLength() != bits) {
            throw new IllegalArgumentException("RSAPUBLICBLOB says " + bits + " bits, modulus has " + modulus.bitLength());
        }
        try {
            return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(modulus, exponent));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("RSAPUBLICBLOB holds no valid RSA key", e);
        }
    }

    static byte[] encode(RSAPublicKey key) {
        byte[] exp = unsigned(key.getPublicExponent());
        byte[] mod = unsigned(key.getModulus());
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + exp.length + mod.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(BCRYPT_RSAPUBLIC_MAGIC).putInt(key.getModulus().bitLength()).putInt(exp.length).putInt(mod.length)
                .putInt(0).putInt(0);
        b.put(exp).put(mod);
        return b.array();
    }

    private static byte[] unsigned(BigInteger v) {
        byte[] bytes = v.toByteArray();
        return bytes[0] == 0 && bytes.length > 1 ? Arrays.copyOfRange(bytes, 1, bytes.length) : bytes;
    }
}
