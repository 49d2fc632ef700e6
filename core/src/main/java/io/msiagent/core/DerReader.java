package io.msiagent.core;

import java.util.Arrays;

/**
 * Reads DER elements in order from a byte range: single-byte tags, definite lengths in their
 * shortest form, nothing running past its enclosing element. Anything else is an
 * {@link IllegalArgumentException}: this reader serves a check that refers whatever it does not
 * understand to the JDK's own decoders, so it never has to be lenient.
 */
final class DerReader {
    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int OCTET_STRING = 0x04;
    static final int NULL = 0x05;
    static final int OID = 0x06;
    static final int UTC_TIME = 0x17;
    static final int GENERALIZED_TIME = 0x18;
    static final int SEQUENCE = 0x30;

    private final byte[] der;
    private int pos;
    private final int end;
    /** The content range of the element last read. */
    private int contentStart;
    private int contentEnd;

    DerReader(byte[] der) {
        this(der, 0, der.length);
    }

    private DerReader(byte[] der, int from, int to) {
        this.der = der;
        this.pos = from;
        this.end = to;
    }

    boolean hasMore() {
        return pos < end;
    }

    /** The next element's tag, or -1 at the end. */
    int peekTag() {
        return pos < end ? der[pos] & 0xff : -1;
    }

    /** Reads the next element, which must have {@code tag}; returns a reader over its content. */
    DerReader read(int tag) {
        next(tag);
        return new DerReader(der, contentStart, contentEnd);
    }

    /** Reads the next element, which must have {@code tag}, and skips it. */
    void skip(int tag) {
        next(tag);
    }

    /** The content octets of the next element, which must have {@code tag}. */
    byte[] bytes(int tag) {
        next(tag);
        return Arrays.copyOfRange(der, contentStart, contentEnd);
    }

    /** The next element, which must be an INTEGER in its shortest form above zero; its content octets. */
    byte[] positiveInteger() {
        skipPositiveInteger();
        return Arrays.copyOfRange(der, contentStart, contentEnd);
    }

    /** Checks that the next element is an INTEGER in its shortest form above zero, without copying it. */
    void skipPositiveInteger() {
        next(INTEGER);
        int length = contentEnd - contentStart;
        byte first = length == 0 ? 0 : der[contentStart];
        if (length == 0 || (first & 0x80) != 0 || (first == 0 && (length == 1 || (der[contentStart + 1] & 0x80) == 0))) {
            throw new IllegalArgumentException("not a positive DER INTEGER");
        }
    }

    /** The next element, which must be an INTEGER from 0 to 127. */
    int smallInteger() {
        byte[] v = bytes(INTEGER);
        if (v.length != 1 || v[0] < 0) {
            throw new IllegalArgumentException("not a small DER INTEGER");
        }
        return v[0];
    }

    void expectEnd() {
        if (pos != end) {
            throw new IllegalArgumentException("unexpected data after the last DER element");
        }
    }

    private void next(int tag) {
        if (peekTag() != tag) {
            throw new IllegalArgumentException("expected DER tag " + tag + ", found " + peekTag());
        }
        int i = pos + 1;
        if (i >= end) {
            throw new IllegalArgumentException("DER element without a length");
        }
        int first = der[i++] & 0xff;
        int length;
        if (first < 0x80) {
            length = first;
        } else {
            int octets = first & 0x7f;
            if (octets == 0 || octets > 3 || i + octets > end || der[i] == 0) {
                throw new IllegalArgumentException("DER length not definite, too long or not in its shortest form");
            }
            length = 0;
            for (int k = 0; k < octets; k++) {
                length = length << 8 | (der[i++] & 0xff);
            }
            if (length < 0x80) {
                throw new IllegalArgumentException("DER length not in its shortest form");
            }
        }
        if (length > end - i) {
            throw new IllegalArgumentException("DER element runs past its end");
        }
        contentStart = i;
        contentEnd = i + length;
        pos = contentEnd;
    }
}
