package io.msiagent.store.windows;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.WString;

/**
 * Hand-written Windows structs that jna-platform lacks (or declares with types we do not want).
 * Layouts (Windows x64) are asserted on Linux by {@code JnaLayoutTest} against docs/WINDOWS.md.
 */
final class JnaStructs {
    private JnaStructs() {
    }

    /** {@code BCRYPT_PKCS1_PADDING_INFO}: 8 bytes. */
    @Structure.FieldOrder({"pszAlgId"})
    public static final class BcryptPkcs1PaddingInfo extends Structure {
        public WString pszAlgId;

        public BcryptPkcs1PaddingInfo() {
        }

        BcryptPkcs1PaddingInfo(String hashId) {
            this.pszAlgId = new WString(hashId);
        }
    }

    /** {@code BCRYPT_PSS_PADDING_INFO}: 16 bytes, {@code cbSalt} at 8. */
    @Structure.FieldOrder({"pszAlgId", "cbSalt"})
    public static final class BcryptPssPaddingInfo extends Structure {
        public WString pszAlgId;
        public int cbSalt;

        public BcryptPssPaddingInfo() {
        }

        BcryptPssPaddingInfo(String hashId, int salt) {
            this.pszAlgId = new WString(hashId);
            this.cbSalt = salt;
        }
    }

    /** {@code CRYPT_KEY_PROV_INFO}: 48 bytes; {@code dwProvType} 0 and {@code dwKeySpec} 0 mean a CNG key. */
    @Structure.FieldOrder({"pwszContainerName", "pwszProvName", "dwProvType", "dwFlags", "cProvParam", "rgProvParam",
            "dwKeySpec"})
    public static final class CryptKeyProvInfo extends Structure {
        public WString pwszContainerName;
        public WString pwszProvName;
        public int dwProvType;
        public int dwFlags;
        public int cProvParam;
        public Pointer rgProvParam;
        public int dwKeySpec;

        public CryptKeyProvInfo() {
        }

        CryptKeyProvInfo(Pointer p) {
            super(p);
            read();
        }
    }

    /** {@code CRYPT_DATA_BLOB}: 16 bytes, {@code pbData} at 8. */
    @Structure.FieldOrder({"cbData", "pbData"})
    public static final class CryptDataBlob extends Structure {
        public int cbData;
        public Pointer pbData;
    }

    /** {@code CERT_CONTEXT} field offsets (Windows x64), read from a context pointer without copying the struct. */
    static final int CERT_CONTEXT_PB_CERT_ENCODED = 8;
    static final int CERT_CONTEXT_CB_CERT_ENCODED = 16;
}
