package io.msiagent.cli.emulator;

import java.util.Objects;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
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
 * // or, with the default configuration, on the class: @ExtendWith(ImdsEmulatorExtension.class)
 *
 * // a fresh emulator (new CA, new ports) for every test:
 * @RegisterExtension
 * final ImdsEmulatorExtension emulator = ImdsEmulatorExtension.perTest(EmulatorConfig.defaults());
 *
 * @Test
 * void renews(ImdsEmulator emu) { ... }
 * }</pre>
 *
 * A static field or {@code @ExtendWith} gives one emulator per class (started in beforeAll), shared by its
 * {@code @Nested} classes; an instance field gives one per test (JUnit calls only the per-test
 * callbacks of instance-field extensions). Every emulator started is closed when its class or test
 * is done.
 */
public final class ImdsEmulatorExtension
        implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(
            ImdsEmulatorExtension.class);

    private final EmulatorConfig config;
    private final boolean perTest;
    // Keys in the context stores: per extension instance, so that two extensions on one class run two emulators.
    private final Object classKey = new Object();
    private final Object testKey = new Object();
    private volatile ImdsEmulator classEmulator;
    private volatile ImdsEmulator testEmulator;

    /**
     * {@link EmulatorConfig#defaults()} with one emulator per class, as {@code with(defaults())}. JUnit
     * uses this constructor for {@code @ExtendWith(ImdsEmulatorExtension.class)}.
     */
    public ImdsEmulatorExtension() {
        this(EmulatorConfig.defaults(), false);
    }

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

    /**
     * Starts the class emulator in the store of the class that registered the extension. JUnit calls
     * this again for each {@code @Nested} class inside it, whose store lookups reach the enclosing
     * class's store: they find the emulator there and share it. The store closes it when that class
     * is done, whatever happened (a failed beforeAll, an aborted run), which an afterAll callback
     * would not guarantee.
     */
    @Override
    public void beforeAll(ExtensionContext context) {
        if (!perTest && context.getStore(NAMESPACE).get(classKey) == null) {
            context.getStore(NAMESPACE).put(classKey, new Running(ImdsEmulator.start(config), this, true));
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Running shared = context.getStore(NAMESPACE).get(classKey, Running.class);
        if (shared != null) {
            shared.emulator.reset();
        } else {
            // Stored in the test's own context: closed as soon as the test is done.
            context.getStore(NAMESPACE).put(testKey, new Running(ImdsEmulator.start(config), this, false));
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == ImdsEmulator.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        ExtensionContext.Store store = extensionContext.getStore(NAMESPACE);
        Running running = store.get(testKey, Running.class);
        if (running == null) {
            running = store.get(classKey, Running.class);
        }
        if (running == null) {
            throw new ParameterResolutionException("the IMDS emulator is not running here");
        }
        return running.emulator;
    }

    /**
     * A started emulator as a store value. CloseableResource rather than AutoCloseable: JUnit closes
     * AutoCloseable store values only from 5.13 on, and this extension runs with its users' JUnit.
     */
    @SuppressWarnings("deprecation")
    private static final class Running implements ExtensionContext.Store.CloseableResource {
        final ImdsEmulator emulator;
        private final ImdsEmulatorExtension owner;
        private final boolean classScoped;

        Running(ImdsEmulator emulator, ImdsEmulatorExtension owner, boolean classScoped) {
            this.emulator = emulator;
            this.owner = owner;
            this.classScoped = classScoped;
            if (classScoped) {
                owner.classEmulator = emulator;
            } else {
                owner.testEmulator = emulator;
            }
        }

        @Override
        public void close() {
            if (classScoped) {
                owner.classEmulator = null;
            } else {
                owner.testEmulator = null;
            }
            emulator.close();
        }
    }
}
