package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

/** Mints the emulator's access tokens: compact JWS, RS256 with the CA key, {@code kid} = the CA's x5t#S256. */
final class AccessTokens {
    static final Duration LIFETIME = Duration.ofSeconds(3599);
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private final EmulatorCa ca;

    AccessTokens(EmulatorCa ca) {
        this.ca = ca;
    }

    /**
     * Claims: aud = resource, iss = {@code https://sts.windows.net/<tid>/}, sub / oid / appid =
     * client id, tid, iat, nbf, exp, {@code idtyp=app}; for PoP {@code cnf.x5t#S256} = the client
     * certificate's thumbprint.
     */
    String mint(EmulatedIdentity identity, String tenantId, String resource, Instant now, String x5tS256) {
        ObjectNode header = Json.object().put("typ", "JWT").put("alg", "RS256").put("kid", ca.thumbprint());
        long iat = now.getEpochSecond();
        ObjectNode claims = Json.object()
                .put("aud", resource)
                .put("iss", "https://sts.windows.net/" + tenantId + "/")
                .put("iat", iat)
                .put("nbf", iat)
                .put("exp", iat + LIFETIME.toSeconds())
                .put("appid", identity.clientId())
                .put("oid", identity.clientId())
                .put("sub", identity.clientId())
                .put("tid", tenantId)
                .put("idtyp", "app");
        if (x5tS256 != null) {
            claims.set("cnf", Json.object().put("x5t#S256", x5tS256));
        }
        String signingInput = B64URL.encodeToString(Json.bytes(header)) + "." + B64URL.encodeToString(Json.bytes(claims));
        byte[] signature = ca.signRs256(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + B64URL.encodeToString(signature);
    }
}
