package io.msiagent.cli.emulator;

import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that runs an {@link ImdsEmulator} for a test class or for each test and
 * injects it into test and lifecycle method parameters of type {@link ImdsEmulator}.
 *
 * <pre>{@code
 * // one emulator for the class, counters and faults reset before each test:
 * @RegisterExtension
 * static final ImdsEmulatorExtension EMULATOR = ImdsEmulatorExtension.with(EmulatorConfig.builder()
 *         .certLifetime(Duration.ofMinutes(1)).build());
 *
 * // a fresh emulator (new CA, new ports) for every test:
 * @RegisterExtension
 * final ImdsEmulatorExtension emulator = ImdsEmulatorExtension.perTest(EmulatorConfig.defaults());
 *
 * @Test
 * void renews(ImdsEmulator emu) { ... }
 * }</pre>
 *
 * A static field gives one emulator per class (started in beforeAll); an instance field gives one
 * per test (JUnit calls only the per-test callbacks of instance-field extensions).
 */
public final class ImdsEmulatorExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private final EmulatorConfig config;
    private final boolean perTest;
    private ImdsEmulator classEmulator;
    private ImdsEmulator testEmulator;

    private ImdsEmulatorExtension(EmulatorConfig config, boolean perTest) {
        this.config = Objects.requireNonNull(config, "config");
        this.perTest = perTest;
    }

    /** One emulator per test class when registered on a static field (reset before each test), else per test. */
    public static ImdsEmulatorExtension with(EmulatorConfig config) {
        return new ImdsEmulatorExtension(config, false);
    }

    /** A fresh emulator for every test, even when registered on a static field. */
    public static ImdsEmulatorExtension perTest(EmulatorConfig config) {
        return new ImdsEmulatorExtension(config, true);
    }

    /** The running emulator (inside a test or lifecycle method). */
    public ImdsEmulator emulator() {
        ImdsEmulator e = testEmulator != null ? testEmulator : classEmulator;
        if (e == null) {
            throw new IllegalStateException("the IMDS emulator is not running here");
        }
        return e;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!perTest) {
            classEmulator = ImdsEmulator.start(config);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (classEmulator != null) {
            classEmulator.close();
            classEmulator = null;
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (classEmulator != null) {
            classEmulator.reset();
        } else {
            testEmulator = ImdsEmulator.start(config);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (testEmulator != null) {
            testEmulator.close();
            testEmulator = null;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == ImdsEmulator.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return emulator();
    }
}
