package io.msiagent.tests.bench;

import com.microsoft.aad.msal4j.IAuthenticationResult;
import com.microsoft.aad.msal4j.ManagedIdentityApplication;
import com.microsoft.aad.msal4j.ManagedIdentityId;
import com.microsoft.aad.msal4j.ManagedIdentityParameters;

/**
 * msal4j's {@code ManagedIdentityApplication} in a fresh JVM: its first token (it must call IMDS,
 * here {@link ImdsV1Server} via {@code AZURE_POD_IDENTITY_AUTHORITY_HOST}). Prints one JSON line
 * with the in-process times; never prints the token.
 */
public final class Msal4jChild {
    private Msal4jChild() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        String resource = args.length > 0 ? args[0] : "https://management.azure.com";
        long t1 = System.nanoTime();
        ManagedIdentityApplication app = ManagedIdentityApplication.builder(ManagedIdentityId.systemAssigned()).build();
        IAuthenticationResult r = app.acquireTokenForManagedIdentity(ManagedIdentityParameters.builder(resource).build()).get();
        long t2 = System.nanoTime();
        System.out.println("{\"tokenLength\":" + r.accessToken().length() + ",\"builderToTokenMillis\":" + (t2 - t1) / 1e6
                + ",\"mainToTokenMillis\":" + (t2 - t0) / 1e6 + "}");
        System.out.flush();
        System.exit(0);
    }
}
