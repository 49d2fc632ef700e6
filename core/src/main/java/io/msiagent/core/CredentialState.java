package io.msiagent.core;

/** The state of an identity's credential, as {@code status} and the CLI report it. */
public enum CredentialState {
    /** Valid and before its renewAt. */
    FRESH,
    /** Valid, but past its renewAt: a renewal is due (or running). */
    RENEW_DUE,
    /** Past its notAfter. */
    EXPIRED,
    /** Nothing stored. */
    MISSING,
    /** Something is stored but cannot be used (corrupt, key and certificate do not match, ...). */
    INVALID
}
