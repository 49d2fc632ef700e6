package io.msiagent.cli;

import io.msiagent.core.MsiCredentialCache;
import io.msiagent.core.MtlsCredential;
import io.msiagent.imds.AccessToken;
import io.msiagent.imds.TokenType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code token}: an access token over mTLS with the credential (acquired first when there is none).
 * The token itself is printed only with {@code --show-token}.
 */
@Command(name = "token", description = "An access token over mTLS with the credential.")
final class TokenCommand implements Callable<Integer> {
    @ParentCommand
    MsiAgentCommand root;

    @Option(names = "--resource", paramLabel = "URI", required = true, description = "The resource (audience), e.g. https://management.azure.com.")
    String resource;

    @Option(names = "--token-type", paramLabel = "TYPE", converter = TokenTypeConverter.class,
            description = "mtls_pop or bearer (default: mtls_pop for an attested credential, else bearer).")
    TokenType tokenType;

    @Option(names = "--show-token", description = "Print the access token itself.")
    boolean showToken;

    @Override
    public Integer call() {
        if (resource.isBlank()) {
            throw new UsageException("--resource must name a resource (audience), e.g. https://management.azure.com");
        }
        Setup setup = new Setup(root);
        Commands.refuseAnotherVersionsEntry(setup, setup.store().inspect(setup.identity()));
        try (MsiCredentialCache cache = setup.newCache()) {
            return tokenWith(cache, setup);
        } finally {
            auditIssuances(setup);
        }
    }

    private int tokenWith(MsiCredentialCache cache, Setup setup) {
        cache.get();
        AccessToken token = tokenType == null ? cache.acquireToken(resource) : cache.acquireToken(resource, tokenType);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("identity", setup.identity().toString());
        m.put("resource", resource);
        m.put("tokenType", token.tokenType().wireName());
        m.put("expiresOn", token.expiresOn().toString());
        m.put("x5tS256", token.x5tS256());
        if (showToken) {
            m.put("accessToken", token.token());
        }
        if (root.json) {
            Output.printJson(root.io().out(), m);
        } else {
            Output.printText(root.io().out(), m);
        }
        return ExitCodes.OK;
    }

    /** What the cache issued on the way (a first credential, a re-issue the token endpoint asked for) goes to the audit log. */
    private void auditIssuances(Setup setup) {
        AuditLog audit = AuditLog.beside(setup.auditDirectory());
        List<MtlsCredential> issued = setup.store().issuedHere();
        for (MtlsCredential c : issued) {
            String notStored = setup.store().saveFailure(c.x5tS256());
            // the store times the last saved acquisition only
            boolean timed = notStored == null && c == issued.get(issued.size() - 1);
            String problem = audit.append(setup.identity(), "issued", c, "token", notStored == null ? "success" : "failure",
                    timed ? setup.store().lastAcquisitionDuration() : null, notStored == null ? null : "not persisted: " + notStored);
            if (problem != null) {
                root.io().err().println("warning: " + problem);
            }
        }
    }

    static final class TokenTypeConverter implements ITypeConverter<TokenType> {
        @Override
        public TokenType convert(String value) {
            try {
                return TokenType.fromWire(value.trim());
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a token type (mtls_pop or bearer)");
            }
        }
    }
}
