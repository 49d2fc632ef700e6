package io.msiagent.tests.bench;

import com.microsoft.aad.msal4j.ManagedIdentityApplication;
import com.microsoft.aad.msal4j.ManagedIdentityId;
import com.microsoft.aad.msal4j.ManagedIdentityParameters;
import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.imds.AccessToken;
import io.msiagent.tests.child.Stack;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Cached access token, side by side in one run: msal4j 1.26.0 {@code ManagedIdentityApplication}
 * (IMDS v1 emulation on 127.0.0.1, found through {@code AZURE_POD_IDENTITY_AUTHORITY_HOST}, which
 * must be set to {@code http://127.0.0.1:<free port>} in the environment that starts JMH) versus
 * {@link MsiCredentialCache#acquireToken(String)} on a credential from the IMDS v2 emulator.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class PeerTokenBenchmark {
    static final String RESOURCE = "https://management.azure.com";

    private ImdsV1Server v1;
    private ManagedIdentityApplication msal;
    /** The same with an executor set, as msal4j users who tune it run it (the issue quotes both). */
    private ManagedIdentityApplication msalWithExecutor;
    private java.util.concurrent.ExecutorService msalExecutor;
    private ManagedIdentityParameters msalParameters;
    private ImdsEmulator emulator;
    private MsiCredentialCache cache;
    private long v1CallsAfterSetup;

    @Setup
    public void setUp() throws Exception {
        v1 = ImdsV1Server.startFromEnvironment();
        msal = ManagedIdentityApplication.builder(ManagedIdentityId.systemAssigned()).build();
        msalParameters = ManagedIdentityParameters.builder(RESOURCE).build();
        msal.acquireTokenForManagedIdentity(msalParameters).get();
        msalExecutor = java.util.concurrent.Executors.newFixedThreadPool(2);
        msalWithExecutor = ManagedIdentityApplication.builder(ManagedIdentityId.systemAssigned()).executorService(msalExecutor).build();
        msalWithExecutor.acquireTokenForManagedIdentity(msalParameters).get();
        emulator = ImdsEmulator.start(EmulatorConfig.builder().ca(EmulatorCa.generate(Clock.systemUTC())).certLifetime(Duration.ofDays(1)).build());
        cache = Stack.cache(emulator.imdsEndpoint(), emulator.caCertificate(), Files.createTempDirectory("msi-peer-bench")).build();
        cache.acquireToken(RESOURCE);
        long before = v1.calls();
        msal.acquireTokenForManagedIdentity(msalParameters).get();
        msalWithExecutor.acquireTokenForManagedIdentity(msalParameters).get();
        if (v1.calls() != before) {
            throw new IllegalStateException("msal4j did not serve the second token from its cache");
        }
        v1CallsAfterSetup = v1.calls();
    }

    @TearDown
    public void tearDown() {
        // printed so a reader can check that msal4j's numbers are cache hits, not IMDS round trips
        System.out.println("IMDS v1 calls during the measurement: " + (v1.calls() - v1CallsAfterSetup));
        cache.close();
        emulator.close();
        v1.close();
        msalExecutor.shutdownNow();
    }

    @Benchmark
    public String msal4jCachedToken() throws Exception {
        return msal.acquireTokenForManagedIdentity(msalParameters).get().accessToken();
    }

    @Benchmark
    public String msal4jCachedTokenWithExecutor() throws Exception {
        return msalWithExecutor.acquireTokenForManagedIdentity(msalParameters).get().accessToken();
    }

    @Benchmark
    public AccessToken msiAgentCachedToken() {
        return cache.acquireToken(RESOURCE);
    }
}
