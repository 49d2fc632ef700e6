package io.msiagent.core.spi;

/**
 * Found with {@link java.util.ServiceLoader}: each platform module registers one. Core uses the
 * first that reports itself supported on this OS.
 */
public interface CredentialStoreProvider {
    /** A short name for logs and {@code doctor}: {@code linux-files}, {@code windows-cng}, ... */
    String name();

    boolean isSupported();

    CredentialStore create(StoreOptions options);
}
