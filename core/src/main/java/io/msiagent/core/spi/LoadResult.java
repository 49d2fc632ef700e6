package io.msiagent.core.spi;

import io.msiagent.core.MtlsCredential;
import java.util.Objects;
import java.util.Optional;

/** What a store found for one identity. */
public final class LoadResult {
    public enum Kind {
        /** A well-formed entry (it may still be expired: the engine decides). */
        FOUND,
        /** No usable entry. {@link #problem()} says why when something was there (and what became of it). */
        ABSENT,
        /** Only from {@link CredentialStore#inspect}: an entry exists but is corrupt or unusable. */
        INVALID
    }

    private static final LoadResult NOTHING = new LoadResult(Kind.ABSENT, null, null, false);

    private final Kind kind;
    private final MtlsCredential credential;
    private final String problem;
    private final boolean leftInPlace;

    private LoadResult(Kind kind, MtlsCredential credential, String problem, boolean leftInPlace) {
        this.kind = kind;
        this.credential = credential;
        this.problem = problem;
        this.leftInPlace = leftInPlace;
    }

    public static LoadResult found(MtlsCredential credential) {
        return new LoadResult(Kind.FOUND, Objects.requireNonNull(credential), null, false);
    }

    public static LoadResult absent() {
        return NOTHING;
    }

    /**
     * Absent because what was there cannot be used; {@code problem} names the file, the fault and what
     * was done with it (moved aside, or left in place).
     */
    public static LoadResult unusable(String problem) {
        return new LoadResult(Kind.ABSENT, null, Objects.requireNonNull(problem), false);
    }

    public static LoadResult invalid(String problem) {
        return new LoadResult(Kind.INVALID, null, Objects.requireNonNull(problem), false);
    }

    /**
     * This unusable or invalid result, marked as an entry the store leaves in place and will not save
     * over (another version's): writing a new credential cannot replace it, so re-acquiring to repair
     * the store is pointless.
     */
    public LoadResult leftInPlace() {
        if (problem == null) {
            throw new IllegalStateException("only an unusable or invalid entry is left in place");
        }
        return new LoadResult(kind, null, problem, true);
    }

    public boolean isLeftInPlace() {
        return leftInPlace;
    }

    public Kind kind() {
        return kind;
    }

    public Optional<MtlsCredential> credential() {
        return Optional.ofNullable(credential);
    }

    /** What was wrong, for an unusable ABSENT entry and for INVALID; otherwise null. */
    public String problem() {
        return problem;
    }

    @Override
    public String toString() {
        return "LoadResult[" + kind + (credential != null ? ", " + credential : "")
                + (problem != null ? ", problem=" + problem : "") + (leftInPlace ? ", left in place" : "") + "]";
    }
}
