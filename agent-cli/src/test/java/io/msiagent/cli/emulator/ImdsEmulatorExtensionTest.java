package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** The JUnit 5 extension: class-scoped (reset between tests) and per-test emulators, parameter injection. */
class ImdsEmulatorExtensionTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** What a test of a fixture class was given, with the ports it had while running. */
    record Seen(ImdsEmulator emulator, int httpPort, int tlsPort) {
        static Seen of(ImdsEmulator emulator) {
            return new Seen(emulator, emulator.httpPort(), emulator.tlsPort());
        }
    }

    /** Runs a fixture class (and its nested classes) through the JUnit launcher, as a build would. */
    static TestExecutionSummary run(Class<?> testClass) {
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectClass(testClass)).build(), listener);
        return listener.getSummary();
    }

    static void assertAllSucceeded(int tests, TestExecutionSummary summary) {
        StringWriter failures = new StringWriter();
        summary.printFailuresTo(new PrintWriter(failures), 20);
        assertEquals(tests, summary.getTestsSucceededCount(), failures::toString);
        assertEquals(0, summary.getTotalFailureCount(), failures::toString);
    }

    /** Both ports can be bound again: the emulator was closed, not left serving for the rest of the JVM. */
    static void assertClosed(Seen seen) throws IOException {
        for (int port : new int[] {seen.httpPort(), seen.tlsPort()}) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(LOOPBACK, port));
            }
        }
    }

    /** A fixture, run only through {@link #run}: an emulator registered on the outer of nested classes. */
    static class OuterWithNested {
        @RegisterExtension
        static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.defaults());
        static final List<Seen> SEEN = new CopyOnWriteArrayList<>();

        @Test
        void outer(ImdsEmulator emulator) throws IOException {
            SEEN.add(Seen.of(emulator));
            assertEquals(200, new EmulatorClient(emulator).metadata(null).code());
        }

        @Nested
        class Inner {
            @Test
            void inner(ImdsEmulator emulator) throws IOException {
                SEEN.add(Seen.of(emulator));
                assertEquals(0, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA), "reset before each test");
                assertEquals(200, new EmulatorClient(emulator).metadata(null).code());
            }

            @Nested
            class Deeper {
                @Test
                void deeper(ImdsEmulator emulator) {
                    SEEN.add(Seen.of(emulator));
                    assertSame(EMULATOR.emulator(), emulator);
                }
            }
        }
    }

    @Test
    void nestedClassesShareTheEmulatorOfTheClassThatRegisteredItWhichIsClosedAfterwards() throws IOException {
        OuterWithNested.SEEN.clear();
        assertAllSucceeded(3, run(OuterWithNested.class));
        List<Seen> seen = OuterWithNested.SEEN;
        assertEquals(3, seen.size());
        assertEquals(1, seen.stream().map(Seen::emulator).distinct().count(),
                "one emulator for the class and its nested classes: " + seen);
        assertClosed(seen.get(0));
    }

    /** A fixture, run only through {@link #run}: the extension declared with {@code @ExtendWith}. */
    @ExtendWith(ImdsEmulatorExtension.class)
    static class Declared {
        static final List<Seen> SEEN = new CopyOnWriteArrayList<>();

        @Test
        void one(ImdsEmulator emulator) throws IOException {
            check(emulator);
        }

        @Test
        void two(ImdsEmulator emulator) throws IOException {
            check(emulator);
        }

        private static void check(ImdsEmulator emulator) throws IOException {
            SEEN.add(Seen.of(emulator));
            assertEquals(0, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA), "reset before each test");
            assertEquals(200, new EmulatorClient(emulator).metadata(null).code());
            assertEquals(1, emulator.identities().size(), "the default configuration");
        }
    }

    @Test
    void extendWithRunsOneDefaultEmulatorForTheClass() throws IOException {
        Declared.SEEN.clear();
        assertAllSucceeded(2, run(Declared.class));
        assertEquals(2, Declared.SEEN.size());
        assertSame(Declared.SEEN.get(0).emulator(), Declared.SEEN.get(1).emulator());
        assertClosed(Declared.SEEN.get(0));
    }

    @Nested
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    class ClassScoped {
        @RegisterExtension
        static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.builder()
                .certLifetime(Duration.ofMinutes(1))
                .fault(FaultRule.parse("kind=status;status=503;path=platformmetadata"))
                .build());
        static ImdsEmulator seenInBeforeAll;
        static int port;

        @BeforeAll
        static void before(ImdsEmulator emulator) {
            seenInBeforeAll = emulator;
            port = emulator.httpPort();
        }

        @Test
        @Order(1)
        void firstTestSeesTheConfiguredFaultAndCounts(ImdsEmulator emulator) throws IOException {
            assertSame(seenInBeforeAll, emulator);
            EmulatorClient c = new EmulatorClient(emulator);
            assertEquals(503, c.metadata(null).code());
            assertEquals(200, c.metadata(null).code());
            assertEquals(2, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA));
        }

        @Test
        @Order(2)
        void secondTestGetsTheSameEmulatorReset(ImdsEmulator emulator) throws IOException {
            assertSame(EMULATOR.emulator(), emulator);
            assertEquals(port, emulator.httpPort());
            assertEquals(0, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA));
            assertEquals(503, new EmulatorClient(emulator).metadata(null).code(), "the configured fault is back");
        }

        @AfterAll
        static void after() {
            assertEquals(Duration.ofMinutes(1), seenInBeforeAll.config().certLifetime());
        }
    }

    @Nested
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    class PerTest {
        @RegisterExtension
        final ImdsEmulatorExtension extension = ImdsEmulatorExtension.with(EmulatorConfig.defaults());
        static String previousCa;

        @Test
        @Order(1)
        void one(ImdsEmulator emulator) throws IOException {
            assertEquals(200, new EmulatorClient(emulator).metadata(null).code());
            previousCa = emulator.caPem();
        }

        @Test
        @Order(2)
        void two(ImdsEmulator emulator) {
            assertNotEquals(previousCa, emulator.caPem(), "a fresh emulator, with a fresh CA");
            assertEquals(0, emulator.stats().calls(EmulatorPath.PLATFORM_METADATA));
            assertSame(extension.emulator(), emulator);
        }
    }
}
