package io.msiagent.core;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * <p>A new credential must reach the listeners before the callers waiting for it are released:
 * {@link #deliverAndAwait} waits for that, except where waiting could never end: on the delivering
 * thread itself (a listener's own request caused the event), and while the delivering thread is
 * blocked in {@link #enterAcquisitionWait() an acquisition wait} (a listener waits for the very
 * callers' release). Those callers then return before the remaining listeners are told.
 */
final class ListenerDelivery {
    private final CopyOnWriteArrayList<CredentialListener> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    // Guarded by lock:
    private final ArrayDeque<CredentialEvent> queue = new ArrayDeque<>();
    private long queued;
    private long delivered;
    private Thread deliveringThread;
    private int deliveringThreadWaits;

    void add(CredentialListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    void remove(CredentialListener listener) {
        listeners.remove(listener);
    }

    /** Queues {@code event} behind every earlier one; returns its ticket for {@link #deliverAndAwait}. */
    long queue(CredentialEvent event) {
        synchronized (lock) {
            queue.add(event);
            return ++queued;
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
                CredentialEvent event;
                synchronized (lock) {
                    event = queue.poll();
                    if (event == null) {
                        // In the same block as the empty poll: an event queued after it finds no delivery running.
                        deliveringThread = null;
                        drained = true;
                        lock.notifyAll();
                        return;
                    }
                }
                try {
                    tell(event);
                } finally {
                    synchronized (lock) {
                        delivered++;
                        lock.notifyAll();
                    }
                }
            }
        } finally {
            if (!drained) { // a listener threw an Error: the next deliver() takes what is left
                synchronized (lock) {
                    deliveringThread = null;
                    lock.notifyAll();
                }
            }
        }
    }

    /**
     * Delivers, then returns once the event with {@code ticket} has been delivered, or at once when
     * waiting could deadlock (see the class comment). An interrupt ends the wait and is kept.
     */
    void deliverAndAwait(long ticket) {
        deliver();
        Thread me = Thread.currentThread();
        synchronized (lock) {
            while (delivered < ticket && deliveringThread != null && deliveringThread != me && deliveringThreadWaits == 0) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    me.interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Called before a thread blocks until an acquisition ends; true when it is the delivering thread
     * (a listener waits), and then {@link #exitAcquisitionWait} must follow.
     */
    boolean enterAcquisitionWait() {
        synchronized (lock) {
            if (deliveringThread != Thread.currentThread()) {
                return false;
            }
            deliveringThreadWaits++;
            lock.notifyAll();
            return true;
        }
    }

    void exitAcquisitionWait() {
        synchronized (lock) {
            deliveringThreadWaits--;
        }
    }

    private void tell(CredentialEvent event) {
        for (CredentialListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LoggerFactory.getLogger(MsiCredentialCache.class)
                        .warn("Credential listener {} threw on {}: {}", l, event.type(), e.toString());
            }
        }
    }
}
