package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsExchange;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /{tenant}/oauth2/v2.0/token} over mutual TLS (protocol document §6). The TLS layer
 * already required a client certificate chained to the emulator CA; this handler checks the form
 * and that {@code client_id} is the certificate's CN, and answers like ESTS: a token, or
 * {@code {"error", "error_description": "AADSTS<code>: ...", "error_codes": [code], ...}}. The AADSTS
 * codes are the ones ESTS uses for the same situation where we know them, picked to match otherwise.
 */
final class TokenHandler extends FaultingHandler {
    private static final Logger LOG = LoggerFactory.getLogger(TokenHandler.class);
    private static final Pattern TOKEN_PATH = Pattern.compile("/([^/]+)/oauth2/v2\\.0/token");
    private static final String DEFAULT_SUFFIX = "/.default";

    private final EmulatorConfig config;
    private final EmulatorStats stats;
    private final IssuedCertificates issued;
    private final AccessTokens tokens;

    TokenHandler(EmulatorConfig config, EmulatorCa ca, Faults faults, EmulatorStats stats, IssuedCertificates issued,
            ScheduledExecutorService scheduler) {
        super(faults, stats, scheduler);
        this.config = config;
        this.stats = stats;
        this.issued = issued;
        this.tokens = new AccessTokens(ca);
    }

    @Override
    EmulatorPath pathOf(EmulatorRequest request) {
        return TOKEN_PATH.matcher(request.path).matches() ? EmulatorPath.TOKEN : null;
    }

    @Override
    EmulatedIdentity identityOf(EmulatorRequest request, EmulatorPath path) {
        return identityByClientId(single(request.form(), "client_id"));
    }

    @Override
    ObjectNode statusFaultBody(int status) {
        return status >= 500 ? estsError("temporarily_unavailable", 50001,
                "The service is temporarily unavailable (emulated failure, HTTP " + status + ").")
                : estsError("invalid_request", 90000, "Emulated failure (HTTP " + status + ").");
    }

    @Override
    void addStandardHeaders(HttpExchange exchange, EmulatorPath path, Fault fault) {
        String requestId = exchange.getRequestHeaders().getFirst("client-request-id");
        if (requestId != null && "true".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("return-client-request-id"))) {
            exchange.getResponseHeaders().set("client-request-id", requestId);
        }
        exchange.getResponseHeaders().set("Cache-Control", "no-store, no-cache");
    }

    @Override
    Reply process(EmulatorRequest request, EmulatorPath path, Fault fault) {
        if (fault != null && fault.kind() == Fault.Kind.INVALID_CLIENT) {
            return new Reply(fault.status(), estsError("invalid_client", fault.aadstsCode(),
                    "The client certificate was rejected (emulated fault)."));
        }
        if (!"POST".equals(request.method)) {
            return new Reply(405, estsError("invalid_request", 900561,
                    "The endpoint only accepts POST requests.")).header("Allow", "POST");
        }
        Matcher m = TOKEN_PATH.matcher(request.path);
        if (!m.matches() || !m.group(1).equalsIgnoreCase(config.tenantId())) {
            return new Reply(400, estsError("invalid_request", 90002,
                    "Tenant '" + (m.matches() ? m.group(1) : "") + "' not found."));
        }
        Map<String, List<String>> form = request.form();
        for (String required : List.of("grant_type", "client_id", "scope")) {
            if (single(form, required) == null) {
                return new Reply(400, estsError("invalid_request", 900144,
                        "The request body must contain the following parameter: '" + required + "'."));
            }
        }
        if (!"client_credentials".equals(single(form, "grant_type"))) {
            return new Reply(400, estsError("unsupported_grant_type", 70003,
                    "The app requested an unsupported grant type '" + single(form, "grant_type") + "'."));
        }
        String clientId = single(form, "client_id");
        EmulatedIdentity identity = identityByClientId(clientId);
        if (identity == null) {
            return new Reply(400, estsError("unauthorized_client", 700016, "Application with identifier '" + clientId
                    + "' was not found in the directory '" + config.tenantId() + "'."));
        }
        X509Certificate clientCert = peerCertificate(request.exchange);
        if (clientCert == null) {
            return new Reply(401, estsError("invalid_client", 700027, "No client certificate was presented."));
        }
        String cn = commonName(clientCert);
        if (!clientId.equalsIgnoreCase(cn)) {
            return new Reply(401, estsError("invalid_client", 700027, "The client certificate subject CN '" + cn
                    + "' does not match client_id '" + clientId + "'."));
        }
        String scope = single(form, "scope");
        if (!scope.endsWith(DEFAULT_SUFFIX) || scope.length() == DEFAULT_SUFFIX.length() || scope.contains(" ")) {
            return new Reply(400, estsError("invalid_scope", 1002012, "The provided value for scope " + scope
                    + " is not valid. Client credential flows must have a scope value with /.default suffixed to the"
                    + " resource identifier (application ID URI)."));
        }
        String resource = scope.substring(0, scope.length() - DEFAULT_SUFFIX.length());
        String tokenType = single(form, "token_type");
        boolean pop;
        if (tokenType == null || tokenType.equalsIgnoreCase("bearer")) {
            pop = false;
        } else if (tokenType.equalsIgnoreCase("mtls_pop")) {
            pop = true;
        } else {
            return new Reply(400, estsError("invalid_request", 901002,
                    "The token_type '" + tokenType + "' is not supported; use mtls_pop or bearer."));
        }
        String thumbprint = EmulatorCa.thumbprint(clientCert);
        IssuedCertificates.Issued record = issued.find(thumbprint);
        if (pop && config.requireAttestationForPop() && (record == null || !record.attested())) {
            return new Reply(400, estsError("invalid_request", 1000617, "An mtls_pop token requires a certificate"
                    + " issued for an attested key; this certificate was not attested. Request token_type=bearer."));
        }
        Instant now = config.clock().instant();
        String accessToken = tokens.mint(identity, config.tenantId(), resource, now, pop ? thumbprint : null);
        stats.tokenIssued(identity);
        LOG.info("Issued {} token for {} to resource {} (client certificate x5t#S256={})", pop ? "mtls_pop" : "bearer",
                clientId, resource, thumbprint);
        ObjectNode out = Json.object()
                .put("token_type", pop ? "mtls_pop" : "Bearer")
                .put("expires_in", AccessTokens.LIFETIME.toSeconds())
                .put("ext_expires_in", AccessTokens.LIFETIME.toSeconds())
                .put("access_token", accessToken)
                .put("resource", resource);
        return new Reply(200, out);
    }

    private EmulatedIdentity identityByClientId(String clientId) {
        if (clientId == null) {
            return null;
        }
        for (EmulatedIdentity id : config.identities()) {
            if (id.clientId().equalsIgnoreCase(clientId)) {
                return id;
            }
        }
        return null;
    }

    private static String single(Map<String, List<String>> form, String name) {
        List<String> v = form.get(name);
        return v == null || v.isEmpty() || v.get(0).isBlank() ? null : v.get(0);
    }

    private static X509Certificate peerCertificate(HttpExchange exchange) {
        if (!(exchange instanceof HttpsExchange https)) {
            return null;
        }
        try {
            Certificate[] chain = https.getSSLSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    private static String commonName(X509Certificate cert) {
        X500Name name = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        RDN[] cns = name.getRDNs(BCStyle.CN);
        return cns.length == 0 ? null : IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    private ObjectNode estsError(String error, int code, String description) {
        ObjectNode out = Json.object()
                .put("error", error)
                .put("error_description", "AADSTS" + code + ": " + description)
                .put("timestamp", config.clock().instant().toString())
                .put("trace_id", UUID.randomUUID().toString())
                .put("correlation_id", UUID.randomUUID().toString());
        out.putArray("error_codes").add(code);
        return out;
    }
}
