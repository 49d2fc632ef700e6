package io.msiagent.core;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.LoggerFactory;

/**
 * Tells the listeners of one cache about its events one at a time, in the order its state changed.
 *
 * <p>The cache queues an event under its state lock, so the queue's order is the order of the
 * changes, and then delivers outside that lock. The thread that finds no delivery running delivers
 * everything queued; a thread that finds one running leaves its event to that thread. So no listener
 * is called by two threads at once, and none hears of an older change after a newer one (an expiry
 * reported by the timer after the worker's renewal, which a status display would have shown last).
 *
 * <p>An event may carry an action to run once it has been delivered: releasing the callers that
 * waited for the new credential, so that they find every listener told. It runs right after its own
 * event, before later ones are delivered. The actions of events queued behind the one being
 * delivered run at once while its listener blocks in the cache ({@link #blockingBegins()}), or when
 * they are queued by that listener's own thread: the callers they release may be what the listener
 * waits for. The cache also bounds how long it leaves its callers to a delivery running on another
 * thread, since a listener may wait for anything.
 */
final class ListenerDelivery {
    private final CopyOnWriteArrayList<CredentialListener> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    // Guarded by lock:
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private Thread deliveringThread;
    /** The delivering thread is blocked in the cache (inside a listener). */
    private boolean deliveringThreadBlocked;

    private static final class Pending {
        final CredentialEvent event;
        private final Runnable afterDelivery;
        private final AtomicBoolean ran = new AtomicBoolean();

        Pending(CredentialEvent event, Runnable afterDelivery) {
            this.event = event;
            this.afterDelivery = afterDelivery;
        }

        void release() {
            if (afterDelivery != null && ran.compareAndSet(false, true)) {
                afterDelivery.run();
            }
        }
    }

    void add(CredentialListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    void remove(CredentialListener listener) {
        listeners.remove(listener);
    }

    /** Queues {@code event} behind every earlier one. */
    void queue(CredentialEvent event) {
        queue(event, null);
    }

    /** Queues {@code event}; {@code afterDelivery} runs once, after it was delivered or when released early. */
    void queue(CredentialEvent event, Runnable afterDelivery) {
        synchronized (lock) {
            queue.add(new Pending(event, afterDelivery));
        }
    }

    /** Delivers what is queued, unless a delivery is running (on this thread too): that one takes it. */
    void deliver() {
        synchronized (lock) {
            if (deliveringThread != null) {
                return;
            }
            deliveringThread = Thread.currentThread();
        }
        boolean drained = false;
        try {
            while (true) {
                Pending p;
                synchronized (lock) {
                    p = queue.peek();
                    if (p == null) {
                        // In the same block as the empty look: an event queued after it finds no delivery running.
                        deliveringThread = null;
                        drained = true;
                        return;
                    }
                }
                try {
                    tell(p.event);
                } finally {
                    synchronized (lock) {
                        queue.poll();
                    }
                    p.release();
                }
            }
        } finally {
            if (!drained) {
                // A VirtualMachineError: release the callers of what is left; the next deliver() tells it.
                synchronized (lock) {
                    deliveringThread = null;
                }
                releaseQueuedFrom(0);
            }
        }
    }

    /**
     * Called by the cache before it blocks a thread (for an acquisition, a token lock). True when that
     * is the delivering thread (a listener waits): the actions queued behind the event being delivered
     * run now, and so do those queued until {@link #blockingEnds()}, which must follow.
     */
    boolean blockingBegins() {
        synchronized (lock) {
            if (deliveringThread != Thread.currentThread()) {
                return false;
            }
            deliveringThreadBlocked = true;
        }
        releaseQueuedFrom(1);
        return true;
    }

    void blockingEnds() {
        synchronized (lock) {
            deliveringThreadBlocked = false;
        }
    }

    /**
     * Called after queueing an event with an action and {@link #deliver() delivering}: when a listener
     * runs on this thread (it caused the event) or is blocked in the cache, the action runs now.
     */
    void releaseIfListenerWaits() {
        synchronized (lock) {
            if (deliveringThread == null || (deliveringThread != Thread.currentThread() && !deliveringThreadBlocked)) {
                return;
            }
        }
        releaseQueuedFrom(1);
    }

    /**
     * Runs the actions of the queued events from position {@code first}: 1 skips the event being
     * delivered, since a listener's wait in the cache never depends on that event's callers.
     */
    private void releaseQueuedFrom(int first) {
        Pending[] pending;
        synchronized (lock) {
            pending = queue.toArray(new Pending[0]);
        }
        for (int i = first; i < pending.length; i++) {
            pending[i].release();
        }
    }

    private void tell(CredentialEvent event) {
        for (CredentialListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable e) { // an AssertionError or a LinkageError in one listener must not starve the others
                LoggerFactory.getLogger(MsiCredentialCache.class)
                        .warn("Credential listener {} threw on {}: {}", l, event.type(), e.toString());
            }
        }
    }
}
