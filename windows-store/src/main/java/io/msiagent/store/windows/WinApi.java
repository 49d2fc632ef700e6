package io.msiagent.store.windows;

import java.util.Map;

/** The Windows constants this module uses (values from the SDK headers; see docs/WINDOWS.md). */
final class WinApi {
    private WinApi() {
    }

    // Key storage providers
    static final String MS_KEY_STORAGE_PROVIDER = "Microsoft Software Key Storage Provider";
    static final String MS_PLATFORM_CRYPTO_PROVIDER = "Microsoft Platform Crypto Provider";

    // NCrypt flags
    static final int NCRYPT_SILENT_FLAG = 0x00000040;
    static final int NCRYPT_USE_VIRTUAL_ISOLATION_FLAG = 0x00020000;
    static final int NCRYPT_USE_PER_BOOT_KEY_FLAG = 0x00040000;
    static final int NCRYPT_PERSIST_FLAG = 0x80000000;
    static final int NCRYPT_ALLOW_SIGNING_FLAG = 0x00000002;
    static final int NCRYPT_ALLOW_ALL_USAGES = 0x00FFFFFF;
    static final int NCRYPT_IMPL_VIRTUAL_ISOLATION_FLAG = 0x00000020;
    static final int BCRYPT_PAD_PKCS1 = 0x00000002;
    static final int BCRYPT_PAD_PSS = 0x00000008;

    // NCrypt property names, algorithm and blob ids
    static final String NCRYPT_LENGTH_PROPERTY = "Length";
    static final String NCRYPT_EXPORT_POLICY_PROPERTY = "Export Policy";
    static final String NCRYPT_KEY_USAGE_PROPERTY = "Key Usage";
    static final String NCRYPT_VIRTUAL_ISO_PROPERTY = "Virtual Iso";
    static final String NCRYPT_IMPL_TYPE_PROPERTY = "Impl Type";
    static final String NCRYPT_RSA_ALGORITHM = "RSA";
    static final String BCRYPT_RSAPUBLIC_BLOB = "RSAPUBLICBLOB";

    // SECURITY_STATUS / HRESULT values
    static final int NTE_BAD_KEY_STATE = 0x8009000B;
    static final int NTE_BAD_FLAGS = 0x80090009;
    static final int NTE_EXISTS = 0x8009000F;
    static final int NTE_PERM = 0x80090010;
    static final int NTE_NOT_FOUND = 0x80090011;
    static final int NTE_BAD_KEYSET = 0x80090016;
    static final int NTE_PROV_DLL_NOT_FOUND = 0x8009001E;
    static final int NTE_INVALID_PARAMETER = 0x80090027;
    static final int NTE_NOT_SUPPORTED = 0x80090029;
    static final int NTE_DEVICE_NOT_READY = 0x80090030;
    static final int NTE_DEVICE_NOT_FOUND = 0x80090035;
    static final int NTE_VBS_UNAVAILABLE = 0x80890014;
    static final int TPM_E_PCP_UNSUPPORTED_PSS_SALT = 0x40290423;
    static final int CRYPT_E_NOT_FOUND = 0x80092004;
    static final int E_ACCESSDENIED = 0x80070005;
    static final int ERROR_ACCESS_DENIED = 5;

    // Crypt32
    static final int CERT_STORE_PROV_SYSTEM_W = 10;
    static final int CERT_SYSTEM_STORE_CURRENT_USER = 0x00010000;
    static final int X509_ASN_ENCODING = 0x00000001;
    static final int PKCS_7_ASN_ENCODING = 0x00010000;
    static final int CERT_STORE_ADD_REPLACE_EXISTING = 3;
    static final int CERT_KEY_PROV_INFO_PROP_ID = 2;
    static final int CERT_FRIENDLY_NAME_PROP_ID = 11;
    static final int CERT_STORE_CTRL_COMMIT = 3;
    /**
     * Our metadata property: an id in the user-defined range ({@code CERT_FIRST_USER_PROP_ID}
     * 0x8000 .. {@code CERT_LAST_USER_PROP_ID} 0xFFFF), persisted with the entry like the friendly name.
     */
    static final int MSI_AGENT_METADATA_PROP_ID = 0x8000 + 0x6D61;

    // Kernel32
    static final int WAIT_OBJECT_0 = 0;
    static final int WAIT_ABANDONED = 0x80;
    static final int WAIT_TIMEOUT = 0x102;

    /** The store's name in messages and {@code location()}. */
    static final String CURRENT_USER_MY = "CurrentUser\\My";

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(NTE_BAD_KEY_STATE, "NTE_BAD_KEY_STATE"),
            Map.entry(NTE_BAD_FLAGS, "NTE_BAD_FLAGS"),
            Map.entry(NTE_EXISTS, "NTE_EXISTS"),
            Map.entry(NTE_PERM, "NTE_PERM"),
            Map.entry(NTE_NOT_FOUND, "NTE_NOT_FOUND"),
            Map.entry(NTE_BAD_KEYSET, "NTE_BAD_KEYSET: key does not exist"),
            Map.entry(NTE_PROV_DLL_NOT_FOUND, "NTE_PROV_DLL_NOT_FOUND: provider not installed"),
            Map.entry(NTE_INVALID_PARAMETER, "NTE_INVALID_PARAMETER"),
            Map.entry(NTE_NOT_SUPPORTED, "NTE_NOT_SUPPORTED"),
            Map.entry(NTE_DEVICE_NOT_READY, "NTE_DEVICE_NOT_READY: TPM not ready"),
            Map.entry(NTE_DEVICE_NOT_FOUND, "NTE_DEVICE_NOT_FOUND: no TPM"),
            Map.entry(NTE_VBS_UNAVAILABLE, "VBS key isolation is not available"),
            Map.entry(TPM_E_PCP_UNSUPPORTED_PSS_SALT, "TPM_E_PCP_UNSUPPORTED_PSS_SALT"),
            Map.entry(CRYPT_E_NOT_FOUND, "CRYPT_E_NOT_FOUND"),
            Map.entry(E_ACCESSDENIED, "E_ACCESSDENIED: access denied"),
            Map.entry(ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED: access denied"));

    static String describe(int status) {
        String name = NAMES.get(status);
        return name == null ? "" : " (" + name + ")";
    }

    /** Errors that mean "this Windows cannot make VBS-isolated keys" (windows.md §7). */
    static boolean isVbsUnavailable(int status) {
        return status == NTE_VBS_UNAVAILABLE || status == NTE_NOT_SUPPORTED || status == NTE_BAD_FLAGS
                || status == NTE_INVALID_PARAMETER;
    }

    /** True when the current OS is Windows; touches nothing native. */
    static boolean isWindows() {
        return System.getProperty("os.name", "").startsWith("Windows");
    }

    static byte[] dword(int value) {
        return new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)};
    }

    /** A little-endian DWORD property value; 0 for a shorter value (MSAL reads "Virtual Iso" the same way). */
    static int readDword(byte[] value) {
        int v = 0;
        for (int i = 0; i < Math.min(4, value.length); i++) {
            v |= (value[i] & 0xFF) << (8 * i);
        }
        return v;
    }
}
