package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sha256Test {
    @Test
    void matchesFips180Vectors() {
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(""));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex("abc"));
        assertEquals("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
    }

    /** Every length around the padding's block boundaries (55, 56, 63, 64 ...), then long random messages. */
    @Test
    void agreesWithTheJdksMessageDigest() throws Exception {
        MessageDigest jdk = MessageDigest.getInstance("SHA-256");
        Random random = new Random(20261123);
        for (int length = 0; length < 300; length++) {
            byte[] m = new byte[length];
            random.nextBytes(m);
            assertArrayEquals(jdk.digest(m), Sha256.digest(m), "length " + length);
        }
        for (int i = 0; i < 40; i++) {
            byte[] m = new byte[random.nextInt(20_000)];
            random.nextBytes(m);
            assertArrayEquals(jdk.digest(m), Sha256.digest(m), "length " + m.length);
        }
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(Sha256.digest(s.getBytes(StandardCharsets.US_ASCII)));
    }
}
