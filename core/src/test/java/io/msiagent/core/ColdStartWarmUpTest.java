package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ColdStartWarmUpTest {
    /** A renamed or removed class would leave its name in the list, where the warm-up skips it silently. */
    @Test
    void everyClassNamedForServingExists() {
        for (String name : ColdStartWarmUp.PUBLICATION_CLASSES) {
            assertDoesNotThrow(() -> Class.forName(name, false, getClass().getClassLoader()), name);
        }
    }

    /** The warm-up is an optimisation: a store whose list is wrong, or fails, must not fail the cache's build. */
    @Test
    void aStoreWithABadListOrAFailingOneNeitherFailsTheWarmUpNorStopsIt() {
        AtomicInteger asked = new AtomicInteger();
        CredentialStore unknownNames = new ListingStore(() -> {
            asked.incrementAndGet();
            return List.of("no.such.Class", "io.msiagent.core.NoSuchClass");
        });
        CredentialStore failing = new ListingStore(() -> {
            asked.incrementAndGet();
            throw new IllegalStateException("broken store");
        });
        assertDoesNotThrow(() -> ColdStartWarmUp.run(unknownNames));
        assertDoesNotThrow(() -> ColdStartWarmUp.run(failing));
        assertEquals(2, asked.get());
    }

    /** A store that only answers {@link CredentialStore#warmUpClasses}. */
    private static final class ListingStore implements CredentialStore {
        private final Supplier<List<String>> warmUpClasses;

        ListingStore(Supplier<List<String>> warmUpClasses) {
            this.warmUpClasses = warmUpClasses;
        }

        @Override
        public List<String> warmUpClasses() {
            return warmUpClasses.get();
        }

        @Override
        public String location(ManagedIdentityId identity) {
            throw new UnsupportedOperationException();
        }

        @Override
        public LoadResult load(ManagedIdentityId identity) {
            throw new UnsupportedOperationException();
        }

        @Override
        public LoadResult inspect(ManagedIdentityId identity) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void save(MtlsCredential credential) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<String> delete(ManagedIdentityId identity) {
            throw new UnsupportedOperationException();
        }

        @Override
        public StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
            throw new UnsupportedOperationException();
        }
    }

    private static final AtomicBoolean PROBE_INITIALISED = new AtomicBoolean();

    /** Loading alone would leave our classes' bytecode verification (done at linking) to the thread that reads. */
    @Test
    void linksAndInitialisesOurClasses() {
        assertFalse(PROBE_INITIALISED.get());
        ColdStartWarmUp.load(getClass().getClassLoader(), List.of(WarmUpProbe.class.getName(), "java.util.concurrent.Executors$RunnableAdapter"));
        assertTrue(PROBE_INITIALISED.get());
    }

    private static final class WarmUpProbe {
        static {
            PROBE_INITIALISED.set(true);
        }
    }
}
