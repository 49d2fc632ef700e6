package io.msiagent.core;

import io.msiagent.core.testing.TestCredentials;
import io.msiagent.imds.ComputeUnitId;
import io.msiagent.imds.IdentitySelector;
import io.msiagent.imds.ImdsException;
import io.msiagent.imds.IssuedCredential;
import io.msiagent.imds.PlatformMetadata;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * IMDS as the engine sees it, without HTTP: answers metadata, verifies each CSR's signature and
 * issues a certificate for its key from a {@link TestCredentials} CA. Counts calls, fails on
 * demand, can issue for the wrong key or with a skewed validity window, and can hold issuance
 * until released.
 */
final class FakeIssuer implements IssuerGateway {
    final TestCredentials ca = TestCredentials.newCa();
    final AtomicInteger metadataCalls = new AtomicInteger();
    final AtomicInteger issueCalls = new AtomicInteger();
    final List<PublicKey> issuedKeys = new CopyOnWriteArrayList<>();
    final List<X509Certificate> issuedCerts = new CopyOnWriteArrayList<>();

    private final Clock clock;
    volatile Duration lifetime = Duration.ofHours(24);
    /** notBefore = now + this (negative: back-dated). */
    volatile Duration notBeforeOffset = Duration.ZERO;
    volatile boolean wrongKey;
    volatile String endpoint = "https://127.0.0.1:1";
    volatile int failures;
    volatile boolean down;
    volatile CountDownLatch gate;
    volatile String lastAttestationToken;

    FakeIssuer(Clock clock) {
        this.clock = clock;
    }

    /** The next {@code n} issuecredential calls fail with a 500. */
    void failNext(int n) {
        failures = n;
    }

    @Override
    public PlatformMetadata platformMetadata(IdentitySelector identity) {
        metadataCalls.incrementAndGet();
        if (down) {
            throw unavailable();
        }
        return new PlatformMetadata(TestCredentials.CLIENT_ID, TestCredentials.TENANT_ID, new ComputeUnitId("vm-1", null),
                "https://attest.example");
    }

    @Override
    public IssuedCredential issueCredential(IdentitySelector identity, byte[] csrDer, String attestationToken) {
        issueCalls.incrementAndGet();
        lastAttestationToken = attestationToken;
        CountDownLatch g = gate;
        if (g != null) {
            try {
                if (!g.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("gate never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        if (down) {
            throw unavailable();
        }
        synchronized (this) {
            if (failures > 0) {
                failures--;
                throw new ImdsException("issuecredential answered 500", 500, "client-req-1", "server-req-1", true, "{}", null);
            }
        }
        try {
            JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(new PKCS10CertificationRequest(csrDer));
            PublicKey key = csr.getPublicKey();
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build(key))) {
                throw new ImdsException("bad CSR signature", 400, "client-req-1", "server-req-1", false, "{}", null);
            }
            PublicKey subject = wrongKey ? TestCredentials.rsa2048().getPublic() : key;
            Instant notBefore = Instant.ofEpochSecond(clock.instant().plus(notBeforeOffset).getEpochSecond());
            X509Certificate cert = ca.issue(subject, notBefore, notBefore.plus(lifetime));
            issuedKeys.add(subject);
            issuedCerts.add(cert);
            return new IssuedCredential(TestCredentials.CLIENT_ID, TestCredentials.TENANT_ID, cert.getEncoded(), "SAMI", endpoint);
        } catch (ImdsException e) {
            throw e;
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        } catch (Exception e) {
            throw new IllegalStateException("fake issuer failed: " + e, e);
        }
    }

    private static ImdsException unavailable() {
        return new ImdsException("connection refused", -1, "client-req-down", null, true, null, null);
    }
}
