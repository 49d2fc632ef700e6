package io.msiagent.cli.emulator;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The queue of pending faults. Rules are consumed in the order they were added: a request takes
 * the first rule that fits its path (and the fault kind), and that rule's count goes down by one.
 */
public final class Faults {
    private final List<Pending> pending = new ArrayList<>();
    private final EmulatorStats stats;

    Faults(EmulatorStats stats) {
        this.stats = stats;
    }

    /** The next request this fault fits misbehaves once. */
    public Faults next(Fault fault) {
        return add(new FaultRule(null, 1, fault));
    }

    /** The next {@code count} requests this fault fits misbehave. */
    public Faults next(int count, Fault fault) {
        return add(new FaultRule(null, count, fault));
    }

    /** The next {@code count} requests on {@code path} misbehave. */
    public Faults next(EmulatorPath path, int count, Fault fault) {
        return add(new FaultRule(path, count, fault));
    }

    public synchronized Faults add(FaultRule rule) {
        pending.add(new Pending(rule));
        return this;
    }

    /** Drops every pending fault. */
    public synchronized void clear() {
        pending.clear();
    }

    /** What is still queued, with the remaining counts. */
    public synchronized List<FaultRule> pending() {
        List<FaultRule> out = new ArrayList<>();
        for (Pending p : pending) {
            out.add(new FaultRule(p.rule.path(), p.remaining, p.rule.fault()));
        }
        return out;
    }

    /**
     * Takes one use of the first pending reply-level fault that fits {@code path} (TLS refusals
     * are taken by the handshake, not here).
     */
    synchronized Optional<Fault> take(EmulatorPath path) {
        for (Iterator<Pending> it = pending.iterator(); it.hasNext();) {
            Pending p = it.next();
            if (p.fits(path) && p.rule.fault().kind() != Fault.Kind.TLS_REFUSAL) {
                if (--p.remaining == 0) {
                    it.remove();
                }
                stats.faultInjected(path);
                return Optional.of(p.rule.fault());
            }
        }
        return Optional.empty();
    }

    /** Takes one use of the first pending fault of {@code kind} that fits {@code path}. */
    synchronized boolean take(EmulatorPath path, Fault.Kind kind) {
        for (Iterator<Pending> it = pending.iterator(); it.hasNext();) {
            Pending p = it.next();
            if (p.fits(path) && p.rule.fault().kind() == kind) {
                if (--p.remaining == 0) {
                    it.remove();
                }
                stats.faultInjected(path);
                return true;
            }
        }
        return false;
    }

    private static final class Pending {
        final FaultRule rule;
        int remaining;

        Pending(FaultRule rule) {
            this.rule = rule;
            this.remaining = rule.count();
        }

        boolean fits(EmulatorPath path) {
            return (rule.path() == null || rule.path() == path) && rule.fault().kind().appliesTo(path);
        }
    }
}
