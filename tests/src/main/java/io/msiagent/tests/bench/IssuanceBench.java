package io.msiagent.tests.bench;

import io.msiagent.cli.emulator.EmulatorCa;
import io.msiagent.cli.emulator.EmulatorConfig;
import io.msiagent.cli.emulator.ImdsEmulator;
import io.msiagent.core.CsrBuilder;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.RenewalPolicy;
import io.msiagent.core.SoftwareKeyProvider;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.imds.IdentitySelector;
import io.msiagent.imds.ImdsClient;
import io.msiagent.imds.IssuedCredential;
import io.msiagent.imds.PlatformMetadata;
import io.msiagent.store.linux.LinuxCredentialStore;
import io.msiagent.tests.child.Stack;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a renewal's time goes, against the emulator on loopback: the steps the engine takes, called
 * one by one through the public pieces (SoftwareKeyProvider, ImdsClient, CsrBuilder, the Linux
 * store), and the engine's own {@code refresh()} end to end (with and without the key prepared in
 * the background). Prints a Markdown table of medians.
 *
 * <pre>
 * java -cp "$(cat tests/target/bench.classpath):tests/target/classes" io.msiagent.tests.bench.IssuanceBench [iterations=30]
 * </pre>
 */
public final class IssuanceBench {
    private IssuanceBench() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0].replace("iterations=", "")) : 30;
        int warmup = 10;
        Map<String, List<Double>> rows = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory("msi-issuance-bench");
        try (ImdsEmulator emu = ImdsEmulator.start(EmulatorConfig.builder().ca(EmulatorCa.generate(Clock.systemUTC()))
                .certLifetime(Duration.ofDays(1)).build())) {
            ImdsClient imds = ImdsClient.builder().endpoint(emu.imdsEndpoint()).build();
            LinuxCredentialStore store = Stack.store(dir.resolve("steps"), false);
            SoftwareKeyProvider keys = new SoftwareKeyProvider();
            IdentitySelector selector = IdentitySelector.systemAssigned();
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            for (int i = 0; i < warmup + n; i++) {
                long t0 = System.nanoTime();
                ManagedKey key = keys.create(KeyProtection.SOFTWARE);
                long t1 = System.nanoTime();
                PlatformMetadata md = imds.platformMetadata(selector);
                long t2 = System.nanoTime();
                byte[] csr = CsrBuilder.build(key, md);
                long t3 = System.nanoTime();
                IssuedCredential issued = imds.issueCredential(selector, csr, null);
                long t4 = System.nanoTime();
                // the checks of invariant 1: our key, inside its validity window, fields present
                X509Certificate cert = (X509Certificate) x509.generateCertificate(new ByteArrayInputStream(issued.certificateDer()));
                if (!Arrays.equals(cert.getPublicKey().getEncoded(), key.publicKey().getEncoded())) {
                    throw new IllegalStateException("issued for another key");
                }
                cert.checkValidity();
                MtlsCredential credential = MtlsCredential.builder().identity(ManagedIdentityId.systemAssigned())
                        .chain(List.of(cert)).privateKey(key.privateKey()).clientId(issued.clientId()).tenantId(issued.tenantId())
                        .tokenEndpoint(issued.tokenEndpoint())
                        .renewAt(RenewalPolicy.defaults().renewAt(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()))
                        .keyProtection(KeyProtection.SOFTWARE).build();
                long t5 = System.nanoTime();
                store.save(credential);
                long t6 = System.nanoTime();
                if (i >= warmup) {
                    add(rows, "RSA-2048 key generation (SoftwareKeyProvider)", t1 - t0);
                    add(rows, "IMDS getplatformmetadata round trip", t2 - t1);
                    add(rows, "CSR (PKCS#10, RSASSA-PSS signature)", t3 - t2);
                    add(rows, "IMDS issuecredential round trip (emulator signs)", t4 - t3);
                    add(rows, "validation (parse, key equality, validity window) + credential object", t5 - t4);
                    add(rows, "persistence (Linux store: lock, metadata + PEM atomic writes, fsync)", t6 - t5);
                    add(rows, "sum of the steps", t6 - t0);
                }
            }
            for (boolean prepare : new boolean[] {false, true}) {
                try (MsiCredentialCache cache = Stack.cache(emu.imdsEndpoint(), emu.caCertificate(), dir.resolve("engine-" + prepare))
                        .prepareKeys(prepare).build()) {
                    cache.get();
                    for (int i = 0; i < warmup + n; i++) {
                        if (prepare) {
                            Thread.sleep(400); // let the background key generation finish, as it would between renewals
                        }
                        long t0 = System.nanoTime();
                        cache.refresh();
                        long t1 = System.nanoTime();
                        if (i >= warmup) {
                            add(rows, prepare ? "engine refresh() end to end, key prepared in the background (default)"
                                    : "engine refresh() end to end, prepareKeys(false)", t1 - t0);
                        }
                    }
                }
            }
        }
        System.out.println("JDK " + System.getProperty("java.vm.version") + ", " + Runtime.getRuntime().availableProcessors()
                + " CPUs; " + n + " iterations after " + warmup + " warm-up; emulator on 127.0.0.1");
        System.out.println();
        System.out.println("| Step | median ms | p90 ms | min ms |");
        System.out.println("|---|---|---|---|");
        rows.forEach((k, v) -> {
            List<Double> s = new ArrayList<>(v);
            Collections.sort(s);
            System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", k, s.get(s.size() / 2), s.get((int) Math.ceil(0.9 * s.size()) - 1), s.get(0));
        });
    }

    private static void add(Map<String, List<Double>> rows, String row, long nanos) {
        rows.computeIfAbsent(row, k -> new ArrayList<>()).add(nanos / 1e6);
    }
}
