package io.msiagent.store.windows;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An open {@code NCRYPT_KEY_HANDLE}, freed when {@link #close()}d, deleted with {@link #deleteKey()},
 * or (as a safety net) when it becomes unreachable.
 */
final class CngKeyHandle implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final WindowsCrypto crypto;
    private final State state;
    private final Cleaner.Cleanable cleanable;

    private static final class State implements Runnable {
        private final WindowsCrypto crypto;
        private final AtomicLong handle;

        State(WindowsCrypto crypto, long handle) {
            this.crypto = crypto;
            this.handle = new AtomicLong(handle);
        }

        @Override
        public void run() {
            long h = handle.getAndSet(0);
            if (h != 0) {
                crypto.freeObject(h);
            }
        }
    }

    CngKeyHandle(WindowsCrypto crypto, long handle) {
        this.crypto = crypto;
        this.state = new State(crypto, handle);
        this.cleanable = CLEANER.register(this, state);
    }

    /** The live handle; throws once closed or deleted. */
    long value() {
        long h = state.handle.get();
        if (h == 0) {
            throw new IllegalStateException("CNG key handle already closed");
        }
        return h;
    }

    /** {@code NCryptDeleteKey}: removes the key from its provider and consumes the handle. */
    void deleteKey() {
        long h = state.handle.getAndSet(0);
        if (h == 0) {
            throw new IllegalStateException("CNG key handle already closed");
        }
        try {
            crypto.deleteKey(h);
        } catch (RuntimeException e) {
            state.handle.set(h);
            throw e;
        }
        cleanable.clean();
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
