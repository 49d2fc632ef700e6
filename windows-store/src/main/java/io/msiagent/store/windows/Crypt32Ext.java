package io.msiagent.store.windows;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import com.sun.jna.win32.StdCallLibrary;

/**
 * The {@code crypt32.dll} functions jna-platform's {@code Crypt32} lacks, declared with
 * {@code Pointer} for {@code PCCERT_CONTEXT}: contexts belong to crypt32 and must never be written
 * back, which JNA would do for a {@code Structure} argument. Failures: {@code Native.getLastError()}.
 */
interface Crypt32Ext extends StdCallLibrary {
    boolean CertAddEncodedCertificateToStore(Pointer hCertStore, int dwCertEncodingType, byte[] pbCertEncoded,
            int cbCertEncoded, int dwAddDisposition, PointerByReference ppCertContext);

    boolean CertSetCertificateContextProperty(Pointer pCertContext, int dwPropId, int dwFlags, Pointer pvData);

    boolean CertGetCertificateContextProperty(Pointer pCertContext, int dwPropId, Pointer pvData,
            IntByReference pcbData);

    Pointer CertDuplicateCertificateContext(Pointer pCertContext);

    boolean CertDeleteCertificateFromStore(Pointer pCertContext);

    boolean CertFreeCertificateContext(Pointer pCertContext);

    boolean CertControlStore(Pointer hCertStore, int dwFlags, int dwCtrlType, Pointer pvCtrlPara);
}
