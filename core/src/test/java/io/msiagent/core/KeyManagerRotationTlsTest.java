package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;

class KeyManagerRotationTlsTest {
    /** 10,000 by default; -Dmsiagent.handshakes=N to change it when investigating. */
    private static final int HANDSHAKES = Integer.getInteger("msiagent.handshakes", 10_000);
    private static final int ROTATIONS = 5;

    private final FakeIssuer imds = new FakeIssuer(Clock.systemUTC());

    private MsiCredentialCache cache(List<X509Certificate> extraCas) {
        return MsiCredentialCache.builder().issuer(imds).store(new InMemoryCredentialStore()).keyProvider(new PooledKeyProvider())
                .keyAttestor(null).trustedCertificates(extraCas).build();
    }

    @Test
    void aliasesAreVersionedAndOldGenerationsStayAnswerableForAWhile() {
        try (MsiCredentialCache cache = cache(List.of())) {
            X509ExtendedKeyManager km = cache.keyManager();
            String first = km.chooseClientAlias(new String[] {"RSA"}, null, null);
            assertEquals("msi-1", first);
            X509Certificate[] firstChain = km.getCertificateChain(first);
            cache.refresh();
            assertEquals("msi-2", km.chooseClientAlias(new String[] {"RSASSA-PSS"}, null, null));
            assertArrayEquals(firstChain, km.getCertificateChain(first), "an in-flight handshake of generation 1 still gets its chain");
            assertTrue(KeyMatch.matches(km.getCertificateChain(first)[0].getPublicKey(), km.getPrivateKey(first)));
            cache.refresh();
            cache.refresh();
            assertNull(km.getCertificateChain(first), "only the last three generations are kept");
            assertNull(km.getPrivateKey(first));
            assertNotNull(km.getPrivateKey("msi-4"));
            assertNull(km.chooseClientAlias(new String[] {"EC"}, null, null), "we only have RSA");
            assertNull(km.chooseServerAlias("RSA", null, null));
            assertNull(km.getServerAliases("RSA", null));
            assertNull(km.chooseEngineServerAlias("RSA", null, null));
            assertNull(km.getPrivateKey("msi-99"));
            assertArrayEquals(new String[] {"msi-4"}, km.getClientAliases("RSA", null));
        }
    }

    @Test
    void tenThousandHandshakesAcrossRotationsNeverMixGenerations() throws Exception {
        // RSA throughout: the JDK's ECDSA verification costs more than everything else in a handshake.
        HeldCertificate root = new HeldCertificate.Builder().certificateAuthority(0).rsa2048().build();
        HeldCertificate serverCert = new HeldCertificate.Builder().signedBy(root).rsa2048().addSubjectAlternativeName("127.0.0.1").build();
        HandshakeCertificates server = new HandshakeCertificates.Builder().heldCertificate(serverCert, root.certificate())
                .addTrustedCertificate(imds.ca.caCertificate()).build();

        ConcurrentLinkedQueue<Throwable> serverFailures = new ConcurrentLinkedQueue<>();
        Set<X509Certificate> seenByServer = ConcurrentHashMap.newKeySet();
        AtomicInteger accepted = new AtomicInteger();
        ExecutorService handlers = Executors.newFixedThreadPool(3);
        ExecutorService clients = Executors.newFixedThreadPool(3);
        try (MsiCredentialCache cache = cache(List.of(root.certificate()));
             SSLServerSocket listener = (SSLServerSocket) server.sslContext().getServerSocketFactory()
                     .createServerSocket(0, 512, InetAddress.getLoopbackAddress())) {
            listener.setNeedClientAuth(true);
            listener.setEnabledProtocols(new String[] {"TLSv1.3"});
            Thread acceptor = new Thread(() -> {
                while (!listener.isClosed()) {
                    try {
                        SSLSocket s = (SSLSocket) listener.accept();
                        s.setTcpNoDelay(true);
                        accepted.incrementAndGet();
                        handlers.execute(() -> serve(s, seenByServer, serverFailures));
                    } catch (Exception e) {
                        if (!listener.isClosed()) {
                            serverFailures.add(e);
                        }
                    }
                }
            }, "acceptor");
            acceptor.setDaemon(true);
            acceptor.start();

            cache.get();
            SSLSocketFactory factory = cache.sslContext().getSocketFactory();
            int port = listener.getLocalPort();
            AtomicInteger done = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> clientFailures = new ConcurrentLinkedQueue<>();
            List<Future<?>> work = new java.util.ArrayList<>();
            for (int i = 0; i < HANDSHAKES; i++) {
                int n = i;
                work.add(clients.submit(() -> {
                    // A distinct peer host per connection defeats session resumption: every handshake is a full one.
                    try (Socket raw = new Socket(InetAddress.getLoopbackAddress(), port);
                         SSLSocket s = (SSLSocket) factory.createSocket(raw, "h" + n + ".test", port, true)) {
                        // Without TCP_NODELAY, Nagle and delayed ACKs stall each handshake by tens of milliseconds.
                        raw.setTcpNoDelay(true);
                        s.setEnabledProtocols(new String[] {"TLSv1.3"});
                        s.startHandshake();
                        InputStream in = s.getInputStream();
                        if (in.read() != 42) {
                            throw new IllegalStateException("server did not answer");
                        }
                    } catch (Exception e) {
                        clientFailures.add(e);
                    }
                    done.incrementAndGet();
                }));
            }
            for (int r = 1; r <= ROTATIONS; r++) {
                int target = HANDSHAKES * r / (ROTATIONS + 1);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (done.get() < target) {
                    assertTrue(System.nanoTime() < deadline, "handshakes progress");
                    Thread.sleep(5);
                }
                cache.refresh();
            }
            for (Future<?> f : work) {
                f.get(120, TimeUnit.SECONDS);
            }
            clients.shutdown();
            handlers.shutdown();
            assertTrue(handlers.awaitTermination(60, TimeUnit.SECONDS));

            assertTrue(clientFailures.isEmpty(), clientFailures.size() + " client failures, first: " + clientFailures.peek());
            assertTrue(serverFailures.isEmpty(), serverFailures.size() + " server failures, first: " + serverFailures.peek());
            assertEquals(HANDSHAKES, accepted.get());
            assertEquals(1 + ROTATIONS, imds.issuedCerts.size());
            assertTrue(imds.issuedCerts.containsAll(seenByServer), "every presented certificate is one the cache was issued");
            assertTrue(seenByServer.size() >= 3, "handshakes ran across rotations: " + seenByServer.size() + " generations seen");
        } finally {
            clients.shutdownNow();
            handlers.shutdownNow();
        }
    }

    private static void serve(SSLSocket s, Set<X509Certificate> seen, ConcurrentLinkedQueue<Throwable> failures) {
        try (s) {
            s.startHandshake();
            Certificate[] peer = s.getSession().getPeerCertificates();
            seen.add((X509Certificate) peer[0]);
            OutputStream out = s.getOutputStream();
            out.write(42);
            out.flush();
        } catch (Exception e) {
            failures.add(e);
        }
    }
}
