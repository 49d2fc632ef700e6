package io.msiagent.core.spi;

/** A held cross-process lock on one identity's store entry. */
public interface StoreLock extends AutoCloseable {
    @Override
    void close();
}
