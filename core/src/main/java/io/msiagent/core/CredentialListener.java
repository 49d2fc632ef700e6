package io.msiagent.core;

/**
 * Told about credential events. Events are delivered one at a time, in the order the cache's state
 * changed: no two calls to listeners of one cache overlap, and no listener hears of an older change
 * after a newer one (an expiry never arrives after the renewal that followed it). They run on the
 * thread that made the change (the acquisition worker, the renewal timer, or a caller of
 * {@code replan()}), or on a thread that was already delivering an earlier event.
 *
 * <p>A new credential's event is delivered before the callers that waited for its acquisition are
 * released: a caller whose {@code get()} waited for a credential returns after the listeners have
 * been told about it. (A caller on another thread may already be served the new credential from
 * memory while the listeners are being told; and a listener that itself waits for an acquisition
 * releases that acquisition's callers before the listeners after it are told.) Keep it short (those
 * callers, and later events, wait for it); an exception it throws is logged and otherwise ignored.
 * It may ask the cache for a credential or a token.
 */
@FunctionalInterface
public interface CredentialListener {
    void onEvent(CredentialEvent event);
}
