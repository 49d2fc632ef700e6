package io.msiagent.core;

/** A credential store failed: names the location (a path, or the Windows store) and what is wrong. */
public class StoreException extends MsiCredentialException {
    private static final long serialVersionUID = 1L;

    private final String location;
    private final String problem;

    public StoreException(String location, String problem) {
        this(location, problem, null);
    }

    public StoreException(String location, String problem, Throwable cause) {
        super(location + ": " + problem, cause);
        this.location = location;
        this.problem = problem;
    }

    public String location() {
        return location;
    }

    public String problem() {
        return problem;
    }
}
