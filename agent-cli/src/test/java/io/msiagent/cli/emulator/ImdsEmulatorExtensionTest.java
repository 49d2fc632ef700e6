package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The JUnit 5 extension: class-scoped (reset between tests) and per-test emulators, parameter injection. */
class ImdsEmulatorExtensionTest {

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
