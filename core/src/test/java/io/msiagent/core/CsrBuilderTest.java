package io.msiagent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msiagent.core.spi.ManagedKey;
import io.msiagent.imds.ComputeUnitId;
import io.msiagent.imds.PlatformMetadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Signature;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.ASN1TaggedObject;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsrBuilderTest {
    private static final String TENANT = "751a212b-4003-416e-b600-e1f48e40db9f";
    private static final String CLIENT = "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3";
    private final ManagedKey key = new SoftwareKeyProvider().create(KeyProtection.SOFTWARE);

    private byte[] csr(ComputeUnitId cuId) {
        return CsrBuilder.build(key, new PlatformMetadata(CLIENT, TENANT, cuId, "https://attest.example"));
    }

    @Test
    void structureMatchesTheProtocolDocumentElementByElement() throws Exception {
        byte[] der = csr(new ComputeUnitId("fake_vmId", null));
        ASN1Sequence request = ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(der));
        assertEquals(3, request.size());
        ASN1Sequence info = (ASN1Sequence) request.getObjectAt(0);
        assertEquals(4, info.size());
        assertEquals(0, ((ASN1Integer) info.getObjectAt(0)).intValueExact(), "version v1");

        ASN1Sequence subject = (ASN1Sequence) info.getObjectAt(1);
        assertEquals(2, subject.size());
        ASN1Sequence dc = (ASN1Sequence) ((ASN1Set) subject.getObjectAt(0)).getObjectAt(0);
        assertEquals("0.9.2342.19200300.100.1.25", oid(dc.getObjectAt(0)), "DC first in DER order");
        assertInstanceOf(DERIA5String.class, dc.getObjectAt(1));
        assertEquals(TENANT, ((DERIA5String) dc.getObjectAt(1)).getString());
        ASN1Sequence cn = (ASN1Sequence) ((ASN1Set) subject.getObjectAt(1)).getObjectAt(0);
        assertEquals("2.5.4.3", oid(cn.getObjectAt(0)));
        assertInstanceOf(DERPrintableString.class, cn.getObjectAt(1), "a GUID CN is a PrintableString");
        assertEquals(CLIENT, ((DERPrintableString) cn.getObjectAt(1)).getString());

        ASN1Sequence spki = (ASN1Sequence) info.getObjectAt(2);
        ASN1Sequence spkiAlg = (ASN1Sequence) spki.getObjectAt(0);
        assertEquals("1.2.840.113549.1.1.1", oid(spkiAlg.getObjectAt(0)));
        assertInstanceOf(ASN1Null.class, spkiAlg.getObjectAt(1), "rsaEncryption with explicit NULL");

        ASN1TaggedObject attributes = (ASN1TaggedObject) info.getObjectAt(3);
        assertEquals(0, attributes.getTagNo());
        ASN1Set attributeSet = ASN1Set.getInstance(attributes, false);
        assertEquals(1, attributeSet.size(), "exactly one attribute, no extensionRequest");
        ASN1Sequence cuId = (ASN1Sequence) attributeSet.getObjectAt(0);
        assertEquals(CsrBuilder.CU_ID_OID, oid(cuId.getObjectAt(0)));
        ASN1Set values = (ASN1Set) cuId.getObjectAt(1);
        assertEquals(1, values.size());
        assertInstanceOf(DERUTF8String.class, values.getObjectAt(0));
        assertEquals("{\"vmId\":\"fake_vmId\"}", ((DERUTF8String) values.getObjectAt(0)).getString());

        ASN1Sequence sigAlg = (ASN1Sequence) request.getObjectAt(1);
        assertEquals("1.2.840.113549.1.1.10", oid(sigAlg.getObjectAt(0)), "RSASSA-PSS");
        ASN1Sequence pss = (ASN1Sequence) sigAlg.getObjectAt(1);
        assertEquals(3, pss.size(), "hash, mgf, salt; trailer field omitted (default)");
        ASN1Sequence hash = (ASN1Sequence) ((ASN1TaggedObject) pss.getObjectAt(0)).getBaseObject();
        assertEquals(0, ((ASN1TaggedObject) pss.getObjectAt(0)).getTagNo());
        assertEquals(1, hash.size(), "SHA-256 AlgorithmIdentifier without NULL parameters");
        assertEquals("2.16.840.1.101.3.4.2.1", oid(hash.getObjectAt(0)));
        ASN1TaggedObject mgfTagged = (ASN1TaggedObject) pss.getObjectAt(1);
        assertEquals(1, mgfTagged.getTagNo());
        ASN1Sequence mgf = (ASN1Sequence) mgfTagged.getBaseObject();
        assertEquals("1.2.840.113549.1.1.8", oid(mgf.getObjectAt(0)));
        ASN1Sequence mgfHash = (ASN1Sequence) mgf.getObjectAt(1);
        assertEquals(1, mgfHash.size(), "MGF1's SHA-256 without NULL parameters");
        assertEquals("2.16.840.1.101.3.4.2.1", oid(mgfHash.getObjectAt(0)));
        ASN1TaggedObject salt = (ASN1TaggedObject) pss.getObjectAt(2);
        assertEquals(2, salt.getTagNo());
        assertEquals(32, ASN1Integer.getInstance(salt.getBaseObject()).intValueExact());

        byte[] signature = ((ASN1BitString) request.getObjectAt(2)).getOctets();
        assertEquals(256, signature.length);
        Signature verifier = Signature.getInstance("RSASSA-PSS");
        verifier.initVerify(key.publicKey());
        verifier.setParameter(JcaPssContentSigner.PSS_SHA256);
        verifier.update(info.getEncoded("DER"));
        assertTrue(verifier.verify(signature), "the signature covers the DER CertificationRequestInfo");
    }

    @Test
    void cuIdJsonOrderAndEscaping() {
        assertEquals("{\"vmId\":\"a\",\"vmssId\":\"b\"}", CsrBuilder.cuIdJson(new ComputeUnitId("a", "b")));
        assertEquals("{\"vmssId\":\"b\"}", CsrBuilder.cuIdJson(new ComputeUnitId(null, "b")));
        assertEquals("{\"vmId\":\"a\",\"vmssId\":\"\"}", CsrBuilder.cuIdJson(new ComputeUnitId("a", "")), "empty is not absent: verbatim, as MSAL");
        assertEquals("{\"vmId\":\"q\\\"\\\\\\u000a\"}", CsrBuilder.cuIdJson(new ComputeUnitId("q\"\\\n", null)));
    }

    @Test
    void nonGuidClientIdIsAUtf8String() throws Exception {
        byte[] der = CsrBuilder.build(key, new PlatformMetadata("not a guid ü", TENANT, new ComputeUnitId("vm", null), "https://a"));
        ASN1Sequence info = (ASN1Sequence) ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(der)).getObjectAt(0);
        ASN1Sequence cn = (ASN1Sequence) ((ASN1Set) ((ASN1Sequence) info.getObjectAt(1)).getObjectAt(1)).getObjectAt(0);
        assertInstanceOf(DERUTF8String.class, cn.getObjectAt(1));
    }

    @Test
    void opensslVerifiesTheSignatureAndShowsTheFields(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("req.der");
        Files.write(file, csr(new ComputeUnitId("test-vm-id", "test-vmss-id")));
        Result r = run(List.of("openssl", "req", "-inform", "DER", "-in", file.toString(), "-verify", "-text", "-noout"));
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("verify OK") || r.output.contains("Certificate request self-signature verify OK"), r.output);
        assertTrue(r.output.contains("DC = " + TENANT + ", CN = " + CLIENT), r.output);
        assertTrue(r.output.contains("rsassaPss") && r.output.contains("sha256") && r.output.contains("Salt Length: 0x20"), r.output);
        assertTrue(r.output.contains("Public-Key: (2048 bit)"), r.output);
        assertTrue(r.output.contains("1.3.6.1.4.1.311.90.2.10") && r.output.contains("{\"vmId\":\"test-vm-id\",\"vmssId\":\"test-vmss-id\"}"),
                r.output);
    }

    @Test
    void pythonCryptographyParsesAndVerifiesIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("req.der");
        Files.write(file, csr(new ComputeUnitId("test-vm-id", null)));
        String script = String.join("\n",
                "import sys",
                "from cryptography import x509",
                "from cryptography.x509.oid import NameOID",
                "from cryptography.hazmat.primitives.asymmetric import padding",
                "csr = x509.load_der_x509_csr(open(sys.argv[1], 'rb').read())",
                "print('valid', csr.is_signature_valid)",
                "print('subject', csr.subject.rfc4514_string())",
                "print('dn-order', [a.oid.dotted_string for a in csr.subject])",
                "print('cn', csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)",
                "print('key', csr.public_key().key_size)",
                "print('pss', isinstance(csr.signature_algorithm_parameters, padding.PSS), csr.signature_hash_algorithm.name)",
                "attr = csr.attributes.get_attribute_for_oid(x509.ObjectIdentifier('1.3.6.1.4.1.311.90.2.10'))",
                "print('cuid', attr.value.decode('utf-8'), attr._type)");
        Result r = run(List.of("python3", "-c", script, file.toString()));
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("valid True"), r.output);
        assertTrue(r.output.contains("subject CN=" + CLIENT + ",DC=" + TENANT), r.output);
        assertTrue(r.output.contains("dn-order ['0.9.2342.19200300.100.1.25', '2.5.4.3']"), r.output);
        assertTrue(r.output.contains("key 2048"), r.output);
        assertTrue(r.output.contains("pss True sha256"), r.output);
        assertTrue(r.output.contains("cuid {\"vmId\":\"test-vm-id\"} 12"), "UTF8String (tag 12): " + r.output);
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child process finished");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static String oid(ASN1Encodable e) {
        return ((ASN1ObjectIdentifier) e).getId();
    }

    @Test
    void theSameKeyAndMetadataGiveTheSameToBeSignedBytes() throws Exception {
        byte[] a = csr(new ComputeUnitId("vm", null));
        byte[] b = csr(new ComputeUnitId("vm", null));
        ASN1Sequence ia = (ASN1Sequence) ASN1Sequence.getInstance(a).getObjectAt(0);
        ASN1Sequence ib = (ASN1Sequence) ASN1Sequence.getInstance(b).getObjectAt(0);
        assertArrayEquals(ia.getEncoded("DER"), ib.getEncoded("DER"), "deterministic except for the randomized PSS signature");
    }
}
