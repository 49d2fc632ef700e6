package io.msiagent.core;

import io.msiagent.imds.IdentitySelector;
import io.msiagent.imds.ImdsClient;
import io.msiagent.imds.IssuedCredential;
import io.msiagent.imds.PlatformMetadata;

/** The two IMDS calls the engine makes; a seam so that the engine can be tested without HTTP. */
interface IssuerGateway {
    PlatformMetadata platformMetadata(IdentitySelector identity);

    IssuedCredential issueCredential(IdentitySelector identity, byte[] csrDer, String attestationToken);

    static IssuerGateway of(ImdsClient client) {
        return new IssuerGateway() {
            @Override
            public PlatformMetadata platformMetadata(IdentitySelector identity) {
                return client.platformMetadata(identity);
            }

            @Override
            public IssuedCredential issueCredential(IdentitySelector identity, byte[] csrDer, String attestationToken) {
                return client.issueCredential(identity, csrDer, attestationToken);
            }
        };
    }
}
