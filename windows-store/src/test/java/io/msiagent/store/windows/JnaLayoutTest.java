package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.WString;
import com.sun.jna.platform.win32.WinCrypt;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Windows x64 struct layouts of docs/WINDOWS.md (measured with mingw-w64 sizeof/offsetof),
 * checked against what JNA computes here. JNA uses the platform's default alignment; on Linux
 * x86-64 natural alignment and 8-byte pointers give the same layout as Windows x64 for these
 * structs, so a wrong field type or order fails here, without Windows.
 */
class JnaLayoutTest {

    /** Structure.fieldOffset is protected: read it through a subclass-free reflective call. */
    private static int offset(Structure s, String field) throws Exception {
        Method m = Structure.class.getDeclaredMethod("fieldOffset", String.class);
        m.setAccessible(true);
        return (Integer) m.invoke(s, field);
    }

    private static void assertLayout(Structure s, int size, Map<String, Integer> offsets) throws Exception {
        assertEquals(size, s.size(), s.getClass().getSimpleName() + " size");
        for (Map.Entry<String, Integer> e : offsets.entrySet()) {
            assertEquals(e.getValue(), offset(s, e.getKey()), s.getClass().getSimpleName() + "." + e.getKey());
        }
    }

    /** Like NCryptLibrary and Crypt32Ext: a package-private library interface, bound here to libc. */
    interface LibC extends com.sun.jna.Library {
        int getpid();
    }

    @Test
    @org.junit.jupiter.api.condition.EnabledOnOs(org.junit.jupiter.api.condition.OS.LINUX)
    void jnaBindsPackagePrivateLibraryInterfaces() {
        LibC libc = Native.load("c", LibC.class);
        assertEquals(ProcessHandle.current().pid(), libc.getpid());
    }

    @Test
    void pointersAreEightBytesAsOnWindowsX64() {
        assertEquals(8, Native.POINTER_SIZE);
    }

    @Test
    void bcryptPaddingInfos() throws Exception {
        assertLayout(new JnaStructs.BcryptPkcs1PaddingInfo(), 8, Map.of("pszAlgId", 0));
        assertLayout(new JnaStructs.BcryptPssPaddingInfo(), 16, Map.of("pszAlgId", 0, "cbSalt", 8));
    }

    @Test
    void cryptKeyProvInfo() throws Exception {
        Map<String, Integer> offsets = Map.of("pwszContainerName", 0, "pwszProvName", 8, "dwProvType", 16,
                "dwFlags", 20, "cProvParam", 24, "rgProvParam", 32, "dwKeySpec", 40);
        assertLayout(new JnaStructs.CryptKeyProvInfo(), 48, offsets);
        assertLayout(new WinCrypt.CRYPT_KEY_PROV_INFO(), 48, offsets);
    }

    @Test
    void cryptDataBlob() throws Exception {
        assertLayout(new JnaStructs.CryptDataBlob(), 16, Map.of("cbData", 0, "pbData", 8));
        assertLayout(new WinCrypt.DATA_BLOB(), 16, Map.of("cbData", 0, "pbData", 8));
    }

    @Test
    void certContextOffsetsWeReadByHandMatchJnaPlatformsStruct() throws Exception {
        WinCrypt.CERT_CONTEXT ctx = new WinCrypt.CERT_CONTEXT();
        assertLayout(ctx, 40, Map.of("dwCertEncodingType", 0, "pbCertEncoded", 8, "cbCertEncoded", 16,
                "pCertInfo", 24, "hCertStore", 32));
        assertEquals(offset(ctx, "pbCertEncoded"), JnaStructs.CERT_CONTEXT_PB_CERT_ENCODED);
        assertEquals(offset(ctx, "cbCertEncoded"), JnaStructs.CERT_CONTEXT_CB_CERT_ENCODED);
    }

    @Test
    void certInfoValidityAndSubject() throws Exception {
        assertLayout(new WinCrypt.CERT_INFO(), 208, Map.of("NotBefore", 64, "NotAfter", 72, "Subject", 80));
    }

    @Test
    void aKeyProvInfoWrittenToNativeMemoryReadsBack() {
        JnaStructs.CryptKeyProvInfo info = new JnaStructs.CryptKeyProvInfo();
        info.pwszContainerName = new WString("msi-agent-1");
        info.pwszProvName = new WString(WinApi.MS_KEY_STORAGE_PROVIDER);
        info.write();
        Pointer p = info.getPointer();
        assertEquals("msi-agent-1", p.getPointer(0).getWideString(0));
        assertEquals(0, p.getInt(16), "dwProvType 0 = CNG");
        assertEquals(0, p.getInt(40), "dwKeySpec 0 = CNG");
        JnaStructs.CryptKeyProvInfo back = new JnaStructs.CryptKeyProvInfo(p);
        assertEquals(WinApi.MS_KEY_STORAGE_PROVIDER, back.pwszProvName.toString());
    }

    @Test
    void ncryptDeclarationsUseHandleSizedPointersAndIntStatuses() throws Exception {
        for (Method m : NCryptLibrary.class.getDeclaredMethods()) {
            assertEquals(int.class, m.getReturnType(), m.getName() + " returns SECURITY_STATUS");
        }
        Method sign = NCryptLibrary.class.getMethod("NCryptSignHash", Pointer.class, Pointer.class, byte[].class,
                int.class, byte[].class, int.class, IntByReference.class, int.class);
        assertEquals(8, sign.getParameterCount());
        NCryptLibrary.class.getMethod("NCryptOpenStorageProvider", PointerByReference.class, WString.class, int.class);
        NCryptLibrary.class.getMethod("NCryptCreatePersistedKey", Pointer.class, PointerByReference.class,
                WString.class, WString.class, int.class, int.class);
        NCryptLibrary.class.getMethod("NCryptExportKey", Pointer.class, Pointer.class, WString.class, Pointer.class,
                byte[].class, int.class, IntByReference.class, int.class);
        List<String> names = Arrays.stream(Crypt32Ext.class.getDeclaredMethods()).map(Method::getName).sorted().toList();
        assertEquals(List.of("CertAddEncodedCertificateToStore", "CertControlStore", "CertDeleteCertificateFromStore",
                "CertDuplicateCertificateContext", "CertFreeCertificateContext", "CertGetCertificateContextProperty",
                "CertSetCertificateContextProperty"), names);
        for (Method m : Crypt32Ext.class.getDeclaredMethods()) {
            for (Class<?> t : m.getParameterTypes()) {
                assertEquals(false, Structure.class.isAssignableFrom(t),
                        m.getName() + " must take contexts as Pointer, never as a Structure");
            }
        }
    }

    @Test
    void rsaPublicBlobRoundTripsAndRejectsForeignBlobs() {
        java.security.interfaces.RSAPublicKey pub = (java.security.interfaces.RSAPublicKey) io.msiagent.core.testing
                .TestCredentials.rsa2048().getPublic();
        byte[] blob = RsaPublicBlob.encode(pub);
        assertEquals(24 + 3 + 256, blob.length, "header + 3-byte exponent + 256-byte modulus, as Windows exports");
        assertEquals(0x31415352, java.nio.ByteBuffer.wrap(blob).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        assertEquals(pub, RsaPublicBlob.parse(blob));
        blob[0] = 0x52;
        blob[3] = 0x32; // "RSA2": a private blob
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> RsaPublicBlob.parse(blob));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RsaPublicBlob.parse(new byte[10]));
    }
}
