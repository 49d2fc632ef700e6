package io.msiagent.imds;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * Turns a failed {@link Outcome} into the typed exception and a message that names the status,
 * both request ids and what to do. Body content only ever appears redacted.
 */
final class ImdsErrors {
    private final String endpoint;
    private final Duration deadline;

    ImdsErrors(String endpoint, Duration deadline) {
        this.endpoint = endpoint;
        this.deadline = deadline;
    }

    ImdsException failed(String operation, Outcome outcome, String requestId) {
        String ids = ids(requestId, outcome.serverRequestId());
        String excerpt = outcome.reply() == null ? null : outcome.reply().body().excerpt();
        String attempts = outcome.attempts() + (outcome.attempts() == 1 ? " attempt" : " attempts");
        if (outcome.ending() == Outcome.Ending.INTERRUPTED) {
            return new ImdsException("IMDS " + operation + " was interrupted after " + attempts + " (" + ids + ")",
                    outcome.status(), requestId, outcome.serverRequestId(), false, excerpt, outcome.failure());
        }
        if (outcome.reply() == null) {
            return transportFailure(operation, outcome, requestId, ids, attempts);
        }
        int status = outcome.status();
        String why = outcome.ending() == Outcome.Ending.DEADLINE
                ? "; gave up because retrying would pass the call deadline of " + Durations.human(deadline) : "";
        String message = "IMDS " + operation + " failed with HTTP " + status + " after " + attempts + why + " ("
                + ids + ")" + detail(outcome.reply()) + ". " + advice(status);
        return new ImdsException(message, status, requestId, outcome.serverRequestId(), outcome.retryable(), excerpt,
                null);
    }

    ImdsV1OnlyException v1Only(Outcome outcome, String requestId) {
        return new ImdsV1OnlyException("IMDS at " + endpoint + " answered HTTP 404 to getplatformmetadata after "
                + outcome.attempts() + " attempts (" + ids(requestId, outcome.serverRequestId()) + "): this host has IMDS"
                + " v1 only, MSI v2 (IMDS-issued mTLS certificates) is not available here. Use IMDS v1 bearer tokens,"
                + " or a VM size/region where MSI v2 is enabled.", requestId, outcome.serverRequestId(),
                outcome.reply().body().excerpt());
    }

    MalformedResponseException malformed(String operation, Reply reply, String requestId, String problem,
                                         Throwable cause) {
        return new MalformedResponseException("IMDS " + operation + " replied HTTP " + reply.status() + " but " + problem
                + " (" + ids(requestId, reply.serverRequestId()) + "). " + endpoint + " does not answer like IMDS v2:"
                + " check that it is IMDS, and that no proxy or other service answers in its place.",
                reply.status(), requestId, reply.serverRequestId(), reply.body().excerpt(), cause);
    }

    private ImdsException transportFailure(String operation, Outcome outcome, String requestId, String ids,
                                           String attempts) {
        Exception cause = outcome.failure();
        String message;
        if (cause instanceof ConnectException) {
            message = "IMDS " + operation + ": nothing listens at " + endpoint + " (connection refused; " + ids
                    + "); on an Azure VM IMDS answers there, elsewhere MSI_AGENT_IMDS_ENDPOINT must name an IMDS emulator.";
        } else if (cause instanceof UnknownHostException || cause instanceof NoRouteToHostException) {
            message = "IMDS " + operation + ": cannot reach " + endpoint + " (" + cause.getClass().getSimpleName()
                    + "; " + ids + "): is this an Azure VM with IMDS, and is the endpoint right?";
        } else {
            String why = outcome.ending() == Outcome.Ending.DEADLINE
                    ? "within the call deadline of " + Durations.human(deadline) : "after " + attempts;
            message = "IMDS " + operation + " at " + endpoint + " got " + outcome.describe() + " " + why + " (" + ids
                    + "). IMDS did not answer in time or dropped the connection; try again later.";
        }
        return new ImdsException(message, -1, requestId, null, outcome.retryable(), null, cause);
    }

    private static String ids(String requestId, String serverRequestId) {
        return "x-ms-client-request-id " + requestId + ", x-ms-request-id "
                + (serverRequestId == null ? "none" : Redactor.excerpt(serverRequestId));
    }

    /** ": invalid_request: Attestation Token is missing" from an IMDS JSON error, else the excerpt. */
    private static String detail(Reply reply) {
        try {
            JsonReply json = JsonReply.parse(reply.body().bytes());
            String error = json.lenientString("error").orElse(null);
            String description = json.lenientString("error_description").orElse(null);
            if (error != null || description != null) {
                return ": " + Redactor.excerpt((error == null ? "" : error)
                        + (error != null && description != null ? ": " : "") + (description == null ? "" : description));
            }
        } catch (ReplyFormatException notJson) {
            // fall through to the raw excerpt
        }
        String excerpt = reply.body().excerpt();
        return excerpt == null ? "" : ": " + excerpt;
    }

    private static String advice(int status) {
        if (status == 400) {
            return "IMDS refused the request as invalid: check the identity selector, the CSR and whether this"
                    + " VM requires an attestation token.";
        }
        if (status == 401 || status == 403) {
            return "IMDS refused access: check that the identity is assigned to this VM.";
        }
        if (status == 404) {
            return "Not found: check that the selected user-assigned identity is assigned to this VM.";
        }
        if (status == 410) {
            return "IMDS is being updated: try again in a minute.";
        }
        if (status == 429) {
            return "IMDS is throttling this VM: try again later, less often.";
        }
        if (status >= 500 || status == 408) {
            return "IMDS is unavailable: try again later; quote the request ids to Azure support if it persists.";
        }
        return "Unexpected status from IMDS; quote the request ids to Azure support.";
    }
}
