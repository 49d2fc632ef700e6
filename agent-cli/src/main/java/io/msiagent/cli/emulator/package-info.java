/**
 * An IMDS v2 emulator on loopback, for msi-agent's own tests, for users' tests, and for
 * {@code msi-agent emulator} / {@code msi-agent demo}.
 *
 * <p>Entry points: {@link io.msiagent.cli.emulator.ImdsEmulator#start} with an
 * {@link io.msiagent.cli.emulator.EmulatorConfig}; {@link io.msiagent.cli.emulator.ImdsEmulator#runForeground}
 * for the CLI; {@link io.msiagent.cli.emulator.ImdsEmulatorExtension} for JUnit 5 tests;
 * {@link io.msiagent.cli.emulator.Faults} / {@link io.msiagent.cli.emulator.Fault} to misbehave on purpose;
 * {@link io.msiagent.cli.emulator.EmulatorStats.Snapshot} to assert on what happened.
 *
 * <p>Decisions worth knowing:
 * <ul>
 * <li>Both servers bind 127.0.0.1 only. The control API ({@code /emulator/...} on the IMDS port)
 * also refuses non-loopback peers and non-loopback {@code Host} headers.</li>
 * <li>An unknown user-assigned selector gets 400 {@code {"error":"invalid_request","error_description":
 * "Identity not found"}} (what real IMDS answers for an identity not assigned to the VM); not 404,
 * which MSAL-style clients read as "this host only has IMDS v1".</li>
 * <li>The CSR subject may list CN and DC in either order; everything else in protocol §2 is
 * enforced, including exactly one attribute (the cuId one, compact JSON equal byte for byte).
 * SHA-256 identifiers inside the PSS parameters may have absent or NULL parameters.</li>
 * <li>Issued certificates: notBefore = the issuing second (minus {@code certBackdate}, default 0),
 * notAfter = now + {@code certLifetime}, random 127-bit serial, KU digitalSignature (critical),
 * EKU clientAuth, AKI/SKI, subject copied from the CSR.</li>
 * <li>Token endpoint AADSTS codes are ESTS's where the situation is known (900144, 70003, 700016,
 * 90002, 1002012, 700027); 901002 (bad token_type) and 1000617 (PoP without attestation) are
 * emulator picks.</li>
 * <li>Tokens are RS256 JWTs signed by the CA key; {@code kid} is the CA's x5t#S256. They are never
 * logged; certificates are logged by thumbprint.</li>
 * </ul>
 */
package io.msiagent.cli.emulator;
