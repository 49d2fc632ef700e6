package io.msiagent.core;

/**
 * Told about credential events, on the engine's threads (the acquisition worker, or the renewal
 * timer). A new credential's event is delivered before the callers that waited for its acquisition
 * are released: a caller whose {@code get()} waited for a credential returns after the listeners
 * have been told about it. (A caller on another thread may already be served the new credential
 * from memory while the listeners are being told.) Keep it short (those callers wait for it); an
 * exception it throws is logged and otherwise ignored. It may ask the cache for a token.
 */
@FunctionalInterface
public interface CredentialListener {
    void onEvent(CredentialEvent event);
}
