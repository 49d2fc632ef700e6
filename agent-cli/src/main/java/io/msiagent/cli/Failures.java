package io.msiagent.cli;

import io.msiagent.core.AttestationException;
import io.msiagent.core.CertificateValidationException;
import io.msiagent.core.IssuanceException;
import io.msiagent.core.KeyProtectionException;
import io.msiagent.core.StoreException;
import io.msiagent.core.TokenAcquisitionException;
import io.msiagent.imds.ImdsException;
import io.msiagent.imds.TokenEndpointException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import javax.net.ssl.SSLException;

/**
 * Turns a failure into the exit code and the one {@code error:} line scripts rely on. The messages
 * of msi-agent's typed exceptions already name the cause (HTTP status and request ids, the path and
 * its problem) and never contain secrets; the stack trace is printed only with {@code -v}.
 */
final class Failures {
    private Failures() {
    }

    static int report(Throwable failure, PrintWriter err, boolean verbose) {
        err.println("error: " + describe(failure));
        if (verbose) {
            StringWriter trace = new StringWriter();
            failure.printStackTrace(new PrintWriter(trace));
            err.print(trace);
        }
        err.flush();
        return exitCode(failure);
    }

    /** The exit code for {@code failure}: the first classifiable exception in the cause chain decides. */
    static int exitCode(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof UsageException || t instanceof picocli.CommandLine.ParameterException) {
                return ExitCodes.USAGE;
            }
            if (t instanceof StoreException) {
                return ExitCodes.STORE_FAILURE;
            }
            if (t instanceof IssuanceException || t instanceof CertificateValidationException
                    || t instanceof TokenAcquisitionException || t instanceof AttestationException
                    || t instanceof ImdsException || t instanceof TokenEndpointException || t instanceof SSLException
                    || t instanceof IOException) {
                return ExitCodes.REMOTE_FAILURE;
            }
            if (t instanceof KeyProtectionException) {
                return ExitCodes.NO_USABLE_CREDENTIAL;
            }
        }
        return ExitCodes.NO_USABLE_CREDENTIAL;
    }

    static String describe(Throwable failure) {
        if (failure instanceof IssuanceException issuance && issuance.imdsException() != null) {
            // imds-client's message is the precise one: it names the endpoint actually called, the
            // status or transport failure, both request ids and what to check. Core's wrapper repeats
            // it and appends generic advice (which assumes 169.254.169.254 on a transport failure).
            return describe(issuance.imdsException());
        }
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            Throwable cause = failure.getCause();
            return cause != null ? describe(cause) : failure.getClass().getSimpleName();
        }
        // A wrapper whose message only repeats its cause's adds nothing; our typed exceptions carry full messages.
        return message.replace('\n', ' ').replace('\r', ' ');
    }
}
