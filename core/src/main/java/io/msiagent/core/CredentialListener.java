package io.msiagent.core;

/**
 * Told about credential events. Runs on the engine's thread (the caller that acquired, or the
 * renewal timer): keep it short. An exception it throws is logged and otherwise ignored.
 */
@FunctionalInterface
public interface CredentialListener {
    void onEvent(CredentialEvent event);
}
