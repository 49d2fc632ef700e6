package io.msiagent.core;

import java.util.Objects;
import java.util.function.Supplier;

/** A value computed once, on first use, by whichever thread asks first (null is a value too). */
final class Lazy<T> implements Supplier<T> {
    private Supplier<? extends T> compute;
    private volatile boolean done;
    private T value;

    private Lazy(Supplier<? extends T> compute) {
        this.compute = compute;
    }

    static <T> Lazy<T> of(Supplier<? extends T> compute) {
        return new Lazy<>(Objects.requireNonNull(compute, "compute"));
    }

    /** The value if it has been computed, else null (without computing it). */
    T peek() {
        return done ? value : null;
    }

    @Override
    public T get() {
        if (!done) {
            synchronized (this) {
                if (!done) {
                    value = compute.get();
                    compute = null;
                    done = true;
                }
            }
        }
        return value;
    }
}
