package io.msiagent.tests.bench;

import io.msiagent.core.MtlsCredential;
import io.msiagent.imds.AccessToken;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509ExtendedKeyManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The hot paths of {@code MsiCredentialCache} on a warm cache: {@code get()} of a fresh snapshot,
 * one handshake's key-manager calls, and {@code acquireToken} of a cached token. See
 * docs/BENCHMARKS.md for the command and the numbers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class CredentialCacheBenchmark {
    private static final String[] RSA = {"RSA"};

    private BenchFixture fixture;
    private X509ExtendedKeyManager keyManager;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        fixture = new BenchFixture();
        keyManager = fixture.cache.keyManager();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixture.close();
    }

    @Benchmark
    @Threads(1)
    public MtlsCredential get() {
        return fixture.cache.get();
    }

    @Benchmark
    @Threads(2)
    public MtlsCredential getTwoThreads() {
        return fixture.cache.get();
    }

    @Benchmark
    @Threads(1)
    public void keyManagerHandshakeCalls(Blackhole bh) {
        String alias = keyManager.chooseClientAlias(RSA, null, null);
        X509Certificate[] chain = keyManager.getCertificateChain(alias);
        PrivateKey key = keyManager.getPrivateKey(alias);
        bh.consume(chain);
        bh.consume(key);
    }

    @Benchmark
    @Threads(1)
    public AccessToken acquireTokenCached() {
        return fixture.cache.acquireToken(BenchFixture.RESOURCE);
    }
}
