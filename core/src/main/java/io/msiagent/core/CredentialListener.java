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
 * been told about it. Exceptions: a caller on another thread may already be served the new
 * credential from memory while the listeners are being told; while a listener waits in the cache
 * (for a credential or a token), the callers of acquisitions that ended meanwhile are released
 * without waiting for it, because they may be what it waits for; and when listeners are still busy
 * with an earlier event on another thread, the callers wait for them at most two seconds.
 *
 * <p>Keep it short: later events, and possibly those callers, wait for it. It may ask the cache for a
 * credential or a token. An exception or error it throws is logged and otherwise ignored (but not a
 * {@link VirtualMachineError} such as {@link OutOfMemoryError}, which the delivering thread rethrows).
 */
@FunctionalInterface
public interface CredentialListener {
    void onEvent(CredentialEvent event);
}
