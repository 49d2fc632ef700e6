package io.msiagent.core;

/**
 * Told about credential events, on the engine's thread (the acquisition worker, or the renewal
 * timer). A new credential's event is delivered before the callers waiting for it are released:
 * once {@code get()} has returned a credential, the listeners have been told about it. Keep it
 * short (those callers wait for it); an exception it throws is logged and otherwise ignored.
 */
@FunctionalInterface
public interface CredentialListener {
    void onEvent(CredentialEvent event);
}
