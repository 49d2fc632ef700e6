package io.msiagent.store.linux;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The optional {@code .pfx} beside the PEM, for Java KeyStore and .NET consumers. Its password is
 * the empty string (the file is protected by its 0600 mode, like the PEM): {@code keytool -list
 * -storetype PKCS12 -storepass ''}, {@code openssl pkcs12 -info -passin pass:} and
 * {@code KeyStore.load(in, new char[0])} read it. JDK 17+ writes PBES2/AES-256 and an HMAC-SHA256
 * MAC, which OpenSSL 3 reads without its legacy provider. The key entry's alias is
 * {@value #ALIAS}.
 */
final class Pkcs12Codec {
    static final String ALIAS = "msal_mtls";
    private static final char[] PASSWORD = new char[0];

    private Pkcs12Codec() {
    }

    static byte[] encode(PrivateKey key, List<X509Certificate> chain) throws GeneralSecurityException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, PASSWORD, chain.toArray(new Certificate[0]));
            ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
            ks.store(out, PASSWORD);
            return out.toByteArray();
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot encode PKCS#12", e);
        }
    }
}
