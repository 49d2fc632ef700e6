package io.msiagent.tests.bench;

import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A full mutual-TLS handshake (in memory, two SSLEngines, no session resumption) with the cache's
 * rotating key manager versus the JDK's key managers over a PKCS#12 KeyStore holding the same key
 * and certificate. Target: the rotating key manager within 5 % of the static ones.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class HandshakeBenchmark {
    @Param({"MsiCredentialCache.keyManager", "SunX509", "NewSunX509"})
    public String keyManager;

    private TlsPeers peers;
    private SSLContext client;

    @Setup
    public void setUp() throws Exception {
        peers = new TlsPeers();
        client = keyManager.startsWith("Msi") ? peers.clientWithCacheKeyManager() : peers.clientWithKeyStore(keyManager);
        X509Certificate seen = peers.handshake(client);
        if (!seen.equals(peers.credential.certificate())) {
            throw new IllegalStateException("the server did not see the cache's certificate");
        }
    }

    @TearDown
    public void tearDown() {
        peers.close();
    }

    @Benchmark
    public X509Certificate fullMutualTlsHandshake() throws Exception {
        return peers.handshake(client);
    }
}
