package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metadata/identity/getplatformmetadata} and {@code POST /metadata/identity/issuecredential}
 * as the protocol document (§1.3, §1.4, §7.5) describes them. Checks, in order: the
 * {@code Metadata: true} header (400 without it, which is also what discovery probes expect), the
 * method (405), {@code cred-api-version=2.0} (400), at most one selector naming a known identity
 * (400 {@code "Identity not found"}, as real IMDS answers for an unassigned identity; a 404 would
 * read as "IMDS v1 only" to MSAL-style clients), then for issuecredential the JSON body, the
 * attestation requirement and the CSR.
 */
final class ImdsHandler extends FaultingHandler {
    static final String METADATA_PATH = "/metadata/identity/getplatformmetadata";
    static final String ISSUE_PATH = "/metadata/identity/issuecredential";
    static final String SERVER = "IMDS/150.870.65.1854";
    static final String ATTESTATION_MISSING = "Attestation Token is missing / empty in the issue credential request";

    private static final Logger LOG = LoggerFactory.getLogger(ImdsHandler.class);
    private static final List<String> SELECTORS = List.of("client_id", "object_id", "mi_res_id");
    private static final Duration FAULTY_VALIDITY_OFFSET = Duration.ofDays(1);

    private final EmulatorConfig config;
    private final EmulatorCa ca;
    private final EmulatorStats stats;
    private final IssuedCertificates issued;
    private final Supplier<String> mtlsEndpoint;

    ImdsHandler(EmulatorConfig config, EmulatorCa ca, Faults faults, EmulatorStats stats, IssuedCertificates issued,
            ScheduledExecutorService scheduler, Supplier<String> mtlsEndpoint) {
        super(faults, stats, scheduler);
        this.config = config;
        this.ca = ca;
        this.stats = stats;
        this.issued = issued;
        this.mtlsEndpoint = mtlsEndpoint;
    }

    @Override
    EmulatorPath pathOf(EmulatorRequest request) {
        return switch (request.path) {
            case METADATA_PATH -> EmulatorPath.PLATFORM_METADATA;
            case ISSUE_PATH -> EmulatorPath.ISSUE_CREDENTIAL;
            default -> null;
        };
    }

    @Override
    EmulatedIdentity identityOf(EmulatorRequest request, EmulatorPath path) {
        try {
            return selectIdentity(request);
        } catch (InvalidRequestException e) {
            return null;
        }
    }

    @Override
    ObjectNode statusFaultBody(int status) {
        return Json.imdsError(status >= 500 ? "server_error" : "invalid_request",
                "Emulated IMDS failure (HTTP " + status + ")");
    }

    @Override
    void addStandardHeaders(HttpExchange exchange, EmulatorPath path, Fault fault) {
        Fault.Kind kind = fault == null ? null : fault.kind();
        if (kind == Fault.Kind.WRONG_SERVER_HEADER) {
            exchange.getResponseHeaders().set("Server", fault.serverHeader());
        } else if (kind != Fault.Kind.MISSING_SERVER_HEADER) {
            exchange.getResponseHeaders().set("Server", SERVER);
        }
    }

    @Override
    Reply process(EmulatorRequest request, EmulatorPath path, Fault fault) {
        try {
            if (!"true".equalsIgnoreCase(request.header("Metadata"))) {
                throw new InvalidRequestException("Required metadata header not specified");
            }
            String method = path == EmulatorPath.PLATFORM_METADATA ? "GET" : "POST";
            if (!method.equals(request.method)) {
                return new Reply(405, Json.imdsError("invalid_request", "use " + method + " for " + request.path))
                        .header("Allow", method);
            }
            String version = request.queryValue("cred-api-version");
            if (version == null) {
                throw new InvalidRequestException("Required query parameter cred-api-version not specified");
            }
            if (!"2.0".equals(version)) {
                throw new InvalidRequestException("cred-api-version '" + version + "' is not supported; use 2.0");
            }
            EmulatedIdentity identity = selectIdentity(request);
            return path == EmulatorPath.PLATFORM_METADATA ? new Reply(200, metadata(identity))
                    : issue(request, identity, fault);
        } catch (InvalidRequestException e) {
            LOG.info("Refusing {} {}: {}", request.method, request.path, e.getMessage());
            return new Reply(e.status(), Json.imdsError(e.error(), e.getMessage()));
        }
    }

    private EmulatedIdentity selectIdentity(EmulatorRequest request) throws InvalidRequestException {
        String name = null;
        String value = null;
        for (String selector : SELECTORS) {
            List<String> values = request.query.get(selector);
            if (values == null) {
                continue;
            }
            if (name != null || values.size() > 1) {
                throw new InvalidRequestException("Specify at most one of client_id, object_id or mi_res_id");
            }
            name = selector;
            value = values.get(0);
        }
        if (name == null) {
            return config.systemAssigned();
        }
        for (EmulatedIdentity id : config.identities()) {
            if (id.matches(name, value)) {
                return id;
            }
        }
        throw new InvalidRequestException("Identity not found");
    }

    private ObjectNode metadata(EmulatedIdentity identity) {
        ObjectNode out = Json.object();
        out.set("cuId", cuId());
        out.put("clientId", identity.clientId());
        out.put("tenantId", config.tenantId());
        out.put("attestationEndpoint", config.attestationEndpoint());
        return out;
    }

    /** The cuId object, vmId then vmssId, nulls omitted: its compact JSON is what the CSR must carry. */
    private ObjectNode cuId() {
        ObjectNode cu = Json.object();
        if (config.vmId() != null && !config.vmId().isBlank()) {
            cu.put("vmId", config.vmId());
        }
        if (config.vmssId() != null && !config.vmssId().isBlank()) {
            cu.put("vmssId", config.vmssId());
        }
        return cu;
    }

    private Reply issue(EmulatorRequest request, EmulatedIdentity identity, Fault fault) throws InvalidRequestException {
        JsonNode body;
        try {
            body = Json.MAPPER.readTree(request.body);
        } catch (IOException e) {
            throw new InvalidRequestException("Request body is not valid JSON");
        }
        if (body == null || !body.isObject()) {
            throw new InvalidRequestException("Request body must be a JSON object");
        }
        JsonNode csrNode = body.get("csr");
        if (csrNode == null || !csrNode.isTextual()) {
            throw new InvalidRequestException("csr is missing or not a string");
        }
        JsonNode tokenNode = body.get("attestation_token");
        if (tokenNode != null && !tokenNode.isTextual() && !tokenNode.isNull()) {
            throw new InvalidRequestException("attestation_token must be a string");
        }
        boolean attested = tokenNode != null && tokenNode.isTextual() && !tokenNode.asText().isBlank();
        if (config.requireAttestation() && !attested) {
            throw new InvalidRequestException(ATTESTATION_MISSING);
        }
        CsrValidator.ValidCsr csr = CsrValidator.validate(csrNode.asText(), identity.clientId(), config.tenantId(),
                Json.compact(cuId()));

        Instant now = config.clock().instant();
        Instant notBefore = now.minus(config.certBackdate());
        Instant notAfter = now.plus(config.certLifetime());
        var key = csr.publicKey();
        Fault.Kind kind = fault == null ? null : fault.kind();
        if (kind == Fault.Kind.CERTIFICATE_FOR_OTHER_KEY) {
            key = EmulatorCa.newRsaKeyPair(2048).getPublic();
        } else if (kind == Fault.Kind.EXPIRED_CERTIFICATE) {
            notAfter = now.minus(FAULTY_VALIDITY_OFFSET);
            notBefore = notAfter.minus(config.certLifetime());
        } else if (kind == Fault.Kind.FUTURE_CERTIFICATE) {
            notBefore = now.plus(FAULTY_VALIDITY_OFFSET);
            notAfter = notBefore.plus(config.certLifetime());
        }
        X509Certificate cert = ca.issueClientCertificate(csr.subject(), key, notBefore, notAfter);
        issued.add(cert, identity, attested);
        stats.certificateIssued(identity);
        LOG.info("Issued certificate x5t#S256={} for {} ({}, attested={}) valid {} .. {}", EmulatorCa.thumbprint(cert),
                identity.clientId(), identity.identityType(), attested, cert.getNotBefore().toInstant(),
                cert.getNotAfter().toInstant());

        ObjectNode out = Json.object();
        out.put("client_id", identity.clientId());
        out.put("tenant_id", config.tenantId());
        try {
            out.put("certificate", Base64.getEncoder().encodeToString(cert.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
        out.put("identity_type", identity.identityType());
        out.put("mtls_authentication_endpoint", mtlsEndpoint.get());
        return new Reply(200, out);
    }
}
