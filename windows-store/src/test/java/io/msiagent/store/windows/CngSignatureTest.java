package io.msiagent.store.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.KeyMatch;
import io.msiagent.core.KeyProtection;
import io.msiagent.core.spi.ManagedKey;
import io.msiagent.core.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CngSignatureTest {
    private static final byte[] MESSAGE = "to be signed inside CNG".getBytes(StandardCharsets.UTF_8);

    private final FakeWindowsCrypto fake = new FakeWindowsCrypto();
    private final ManagedKey key = CngKeyProvider.builder().crypto(fake).build().create(KeyProtection.SOFTWARE);

    @ParameterizedTest
    @CsvSource({"SHA256withRSA,SHA256", "SHA384withRSA,SHA384", "SHA512withRSA,SHA512"})
    void pkcs1SignaturesAreMadeByCngAndVerifyWithTheJdk(String alg, String cngHash) throws Exception {
        fake.signCalls.clear();
        Signature s = Signature.getInstance(alg, key.signatureProvider());
        s.initSign(key.privateKey());
        s.update(MESSAGE);
        byte[] sig = s.sign();

        assertEquals(WindowsCrypto.SignPadding.pkcs1(cngHash), fake.signCalls.get(0));
        Signature v = Signature.getInstance(alg);
        v.initVerify(key.publicKey());
        v.update(MESSAGE);
        assertTrue(v.verify(sig));
    }

    @ParameterizedTest
    @CsvSource({"SHA-256,32,SHA256", "SHA-384,48,SHA384", "SHA-256,0,SHA256"})
    void pssSignaturesCarryTheRequestedSaltAndVerifyWithTheJdk(String digest, int salt, String cngHash)
            throws Exception {
        PSSParameterSpec spec = new PSSParameterSpec(digest, "MGF1", new MGF1ParameterSpec(digest), salt, 1);
        fake.signCalls.clear();
        Signature s = Signature.getInstance("RSASSA-PSS", key.signatureProvider());
        s.initSign(key.privateKey());
        s.setParameter(spec);
        s.update(MESSAGE);
        byte[] sig = s.sign();

        assertEquals(WindowsCrypto.SignPadding.pss(cngHash, salt), fake.signCalls.get(0));
        assertEquals(spec.getSaltLength(), s.getParameters().getParameterSpec(PSSParameterSpec.class).getSaltLength());
        Signature v = Signature.getInstance("RSASSA-PSS");
        v.initVerify(key.publicKey());
        v.setParameter(spec);
        v.update(MESSAGE);
        assertTrue(v.verify(sig));
    }

    @Test
    void pssWithAForeignMgfDigestIsRefused() throws Exception {
        Signature s = Signature.getInstance("RSASSA-PSS", key.signatureProvider());
        s.initSign(key.privateKey());
        assertThrows(java.security.InvalidAlgorithmParameterException.class, () -> s.setParameter(
                new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA384, 32, 1)));
    }

    @Test
    void delayedProviderSelectionPicksMsiAgentCngForCngKeysAndOnlyForThem() throws Exception {
        MsiAgentCngProvider.install();
        for (String alg : new String[] {"SHA256withRSA", "RSASSA-PSS"}) {
            Signature s = Signature.getInstance(alg);
            s.initSign(key.privateKey());
            assertEquals(MsiAgentCngProvider.NAME, s.getProvider().getName(), alg);

            Signature soft = Signature.getInstance(alg);
            soft.initSign(TestCredentials.rsa2048().getPrivate());
            assertNotEquals(MsiAgentCngProvider.NAME, soft.getProvider().getName(), alg);

            Signature verify = Signature.getInstance(alg);
            verify.initVerify(key.publicKey());
            assertNotEquals(MsiAgentCngProvider.NAME, verify.getProvider().getName(), alg);
        }
    }

    @Test
    void coreKeyMatchAcceptsTheCngKeyForItsPublicKeyOnly() {
        MsiAgentCngProvider.install();
        assertTrue(KeyMatch.matches(key.publicKey(), key.privateKey()));
        assertFalse(KeyMatch.matches(TestCredentials.rsa2048().getPublic(), key.privateKey()));
    }

    @Test
    void aPkcs1OnlyKeyIsRefusedByThePssSignatureAtInit() throws Exception {
        FakeWindowsCrypto tpm = new FakeWindowsCrypto();
        tpm.vbsFailureAtCreate = WinApi.NTE_VBS_UNAVAILABLE;
        tpm.tpmWithoutPss = true;
        ManagedKey tpmKey = CngKeyProvider.builder().crypto(tpm).build().create(KeyProtection.TPM);
        Signature s = Signature.getInstance("RSASSA-PSS", tpmKey.signatureProvider());
        InvalidKeyException e = assertThrows(InvalidKeyException.class, () -> s.initSign(tpmKey.privateKey()));
        assertTrue(e.getMessage().contains("cannot sign RSA-PSS"), e.getMessage());

        Signature pkcs1 = Signature.getInstance("SHA256withRSA", tpmKey.signatureProvider());
        pkcs1.initSign(tpmKey.privateKey());
        pkcs1.update(MESSAGE);
        assertEquals(256, pkcs1.sign().length);
    }

    @Test
    void aKeyDeletedUnderneathFailsWithTheWindowsStatus() throws Exception {
        fake.deleteKeyBehindTheBack(key.keyId());
        Signature s = Signature.getInstance("SHA256withRSA", key.signatureProvider());
        s.initSign(key.privateKey());
        s.update(MESSAGE);
        SignatureException e = assertThrows(SignatureException.class, s::sign);
        assertTrue(e.getMessage().contains("0x80090016"), e.getMessage());
    }

    @Test
    void otherKeysAndVerificationAreRefused() throws Exception {
        Signature s = Signature.getInstance("SHA256withRSA", key.signatureProvider());
        assertThrows(InvalidKeyException.class, () -> s.initSign(TestCredentials.rsa2048().getPrivate()));
        assertThrows(InvalidKeyException.class, () -> s.initVerify(key.publicKey()));
    }
}
