package io.msiagent.store.windows;

import com.sun.jna.Pointer;
import com.sun.jna.WString;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import com.sun.jna.win32.StdCallLibrary;

/**
 * {@code ncrypt.dll}, declared by hand (jna-platform has no NCrypt). Every function returns a
 * {@code SECURITY_STATUS}; handles ({@code NCRYPT_PROV_HANDLE}, {@code NCRYPT_KEY_HANDLE}) are
 * {@code ULONG_PTR}s, passed as pointers.
 */
interface NCryptLibrary extends StdCallLibrary {
    int NCryptOpenStorageProvider(PointerByReference phProvider, WString pszProviderName, int dwFlags);

    int NCryptCreatePersistedKey(Pointer hProvider, PointerByReference phKey, WString pszAlgId, WString pszKeyName,
            int dwLegacyKeySpec, int dwFlags);

    int NCryptSetProperty(Pointer hObject, WString pszProperty, byte[] pbInput, int cbInput, int dwFlags);

    int NCryptGetProperty(Pointer hObject, WString pszProperty, byte[] pbOutput, int cbOutput,
            IntByReference pcbResult, int dwFlags);

    int NCryptFinalizeKey(Pointer hKey, int dwFlags);

    int NCryptOpenKey(Pointer hProvider, PointerByReference phKey, WString pszKeyName, int dwLegacyKeySpec,
            int dwFlags);

    int NCryptDeleteKey(Pointer hKey, int dwFlags);

    int NCryptExportKey(Pointer hKey, Pointer hExportKey, WString pszBlobType, Pointer pParameterList,
            byte[] pbOutput, int cbOutput, IntByReference pcbResult, int dwFlags);

    int NCryptSignHash(Pointer hKey, Pointer pPaddingInfo, byte[] pbHashValue, int cbHashValue, byte[] pbSignature,
            int cbSignature, IntByReference pcbResult, int dwFlags);

    int NCryptFreeObject(Pointer hObject);
}
