package io.msiagent.core;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * The JVM's default trust plus configured extra CAs: a peer is trusted when one of the delegates
 * (each a full PKIX trust manager, hostname checks included) trusts it. Never trusts everything.
 */
final class CompositeTrustManager extends X509ExtendedTrustManager {
    private final List<X509ExtendedTrustManager> delegates;
    private final List<X509ExtendedTrustManager> extraFirst;
    private final Set<X500Principal> extraSubjects;

    private CompositeTrustManager(List<X509ExtendedTrustManager> delegates, Set<X500Principal> extraSubjects) {
        this.delegates = List.copyOf(delegates);
        List<X509ExtendedTrustManager> reversed = new ArrayList<>(delegates);
        Collections.reverse(reversed);
        this.extraFirst = List.copyOf(reversed);
        this.extraSubjects = Set.copyOf(extraSubjects);
    }

    /** Default trust, plus one trust manager holding {@code extraCas} when there are any. */
    static CompositeTrustManager create(Collection<X509Certificate> extraCas) {
        try {
            List<X509ExtendedTrustManager> delegates = new ArrayList<>();
            Set<X500Principal> extraSubjects = new HashSet<>();
            delegates.add(fromKeyStore(null));
            if (!extraCas.isEmpty()) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                int i = 0;
                for (X509Certificate ca : extraCas) {
                    ks.setCertificateEntry("extra-ca-" + i++, ca);
                    extraSubjects.add(ca.getSubjectX500Principal());
                }
                delegates.add(fromKeyStore(ks));
            }
            return new CompositeTrustManager(delegates, extraSubjects);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up trust managers: " + e.getMessage(), e);
        }
    }

    private static X509ExtendedTrustManager fromKeyStore(KeyStore ks) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509ExtendedTrustManager from " + tmf.getAlgorithm());
    }

    @FunctionalInterface
    private interface Check {
        void check(X509ExtendedTrustManager tm) throws CertificateException;
    }

    /*
     * Ask first the delegate that probably knows the chain: a failed PKIX validation against the
     * JVM's hundred-odd roots costs far more than the successful one, on every handshake.
     */
    private void anyTrusts(X509Certificate[] chain, Check check) throws CertificateException {
        boolean extraIssued = chain != null && chain.length > 0 && !extraSubjects.isEmpty()
                && (extraSubjects.contains(chain[chain.length - 1].getIssuerX500Principal())
                    || extraSubjects.contains(chain[chain.length - 1].getSubjectX500Principal()));
        CertificateException first = null;
        for (X509ExtendedTrustManager tm : extraIssued ? extraFirst : delegates) {
            try {
                check.check(tm);
                return;
            } catch (CertificateException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        throw first;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkServerTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        anyTrusts(chain, tm -> tm.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        Set<X509Certificate> all = new LinkedHashSet<>();
        for (X509ExtendedTrustManager tm : delegates) {
            all.addAll(List.of(tm.getAcceptedIssuers()));
        }
        return all.toArray(new X509Certificate[0]);
    }
}
