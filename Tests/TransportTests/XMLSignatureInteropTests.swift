import Foundation
import XCTest
import X509
@testable import Transport

/// Acceptance 3 (signatures): interop with xmlsec1 both ways, and typed failures for tampering.
final class XMLSignatureInteropTests: XCTestCase {
    let f = SecurityFixtures.shared

    func signedXHE() throws -> [UInt8] {
        try XMLSigner.signEnveloped(f.envelope().xml(), identity: f.orgA)
    }

    func testWeSignXmlsecVerifies() throws {
        let path = try f.write("signed-by-kvitto.xml", try signedXHE())
        let r = try runTool("xmlsec1", ["--verify", "--trusted-pem", f.path("ca.pem"), path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("OK"), r.output)
        // Exclusive canonicalization too.
        let exc = try XMLSigner.signEnveloped(f.envelope().xml(), identity: f.orgA, canonicalization: .exclusive)
        let r2 = try runTool("xmlsec1", ["--verify", "--trusted-pem", f.path("ca.pem"), try f.write("signed-exc.xml", exc)])
        XCTAssertEqual(r2.status, 0, r2.output)
        // And the tampered document is refused by xmlsec1 as well (the test can fail).
        let tampered = String(decoding: try signedXHE(), as: UTF8.self).replacingOccurrences(of: "0203:myndighetB.org", with: "0203:evil.org")
        let r3 = try runTool("xmlsec1", ["--verify", "--trusted-pem", f.path("ca.pem"), try f.write("tampered.xml", Array(tampered.utf8))])
        XCTAssertNotEqual(r3.status, 0, r3.output)
    }

    /// Signing keeps the input bytes and inserts the signature before the document element's end
    /// tag, also when comments, processing instructions and whitespace follow it.
    func testSigningPreservesTheDocumentAroundTheSignature() async throws {
        let original = String(decoding: try f.envelope().xml(), as: UTF8.self)
            .replacingOccurrences(of: "</x:XHE>", with: "</x:XHE >\n<!-- after </x:XHE> -->\n<?pi </x:XHE>?>\n")
        let signed = try XMLSigner.signEnveloped(Array(original.utf8), identity: f.orgA)
        let text = String(decoding: signed, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("</ds:Signature></x:XHE >\n<!-- after </x:XHE> -->\n<?pi </x:XHE>?>\n"))
        XCTAssertEqual(text.replacingOccurrences(of: #"<ds:Signature .*</ds:Signature>"#, with: "", options: .regularExpression), original)
        _ = try await f.verifier.verify(signed, at: Date())
        let r = try runTool("xmlsec1", ["--verify", "--trusted-pem", f.path("ca.pem"), try f.write("signed-trailing.xml", signed)])
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testXmlsecSignsWeVerify() async throws {
        for (c14n, name) in [(XMLSecurityAlgorithm.c14n, "inc"), (XMLSecurityAlgorithm.excC14n, "exc")] {
            var text = String(decoding: try f.envelope().xml(), as: UTF8.self)
            let template = """
                <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>\
                <ds:CanonicalizationMethod Algorithm="\(c14n)"/>\
                <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\
                <ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>\
                <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>\
                <ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>
                """
            text = text.replacingOccurrences(of: "</x:XHE>", with: template + "</x:XHE>")
            let templatePath = try f.write("template-\(name).xml", Array(text.utf8))
            let out = f.path("signed-by-xmlsec-\(name).xml")
            let r = try runTool("xmlsec1", ["--sign", "--privkey-pem", "\(f.path("a-key.pem")),\(f.path("a-cert.pem"))",
                                            "--output", out, templatePath])
            XCTAssertEqual(r.status, 0, r.output)
            let signed = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
            let verified = try await f.verifier.verify(signed, at: Date())
            XCTAssertEqual(verified.signer, f.orgA.certificate)
            // The XHE stays valid against the XSD and the rules after signing.
            XCTAssertEqual(try Corpus.validator.validate(signed).violations, [])
        }
    }

    func expectFailure(_ bytes: [UInt8], _ code: String, at time: Date = Date(), verifier: XMLSignatureVerifier? = nil,
                       file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await (verifier ?? f.verifier).verify(bytes, at: time)
            XCTFail("verified, expected \(code)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        }
    }

    func edit(_ bytes: [UInt8], _ find: String, _ replace: String) throws -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: find)
        guard parts.count == 2 else { throw MutationError(message: "'\(find)' occurs \(parts.count - 1) times") }
        return Array(parts.joined(separator: replace).utf8)
    }

    func testOurSignatureVerifiesAndTamperingFailsWithATypedReason() async throws {
        let signed = try signedXHE()
        let ok = try await f.verifier.verify(signed, at: Date())
        XCTAssertEqual(ok.signer, f.orgA.certificate)

        // Changed text.
        await expectFailure(try edit(signed, "0203:myndighetB.org", "0203:myndighetC.org"), "signature.digest_mismatch")
        // Moved signed element: swap two business scope criteria.
        let text = String(decoding: signed, as: UTF8.self)
        let c1 = "<xha:BusinessScopeCriterion><BusinessScopeCriterionTypeCode>PROCESSID</BusinessScopeCriterionTypeCode><BusinessScopeCriterionValue>bdx:noprocess</BusinessScopeCriterionValue></xha:BusinessScopeCriterion>"
        let c2 = "<xha:BusinessScopeCriterion><BusinessScopeCriterionTypeCode>PROCESSID_SCHEME</BusinessScopeCriterionTypeCode><BusinessScopeCriterionValue>urn:fdc:digg.se:edelivery:process</BusinessScopeCriterionValue></xha:BusinessScopeCriterion>"
        XCTAssertTrue(text.contains(c1 + c2))
        await expectFailure(Array(text.replacingOccurrences(of: c1 + c2, with: c2 + c1).utf8), "signature.digest_mismatch")
        // Duplicated signed element.
        await expectFailure(Array(text.replacingOccurrences(of: c1, with: c1 + c1).utf8), "signature.digest_mismatch")
        // Element added after signing.
        await expectFailure(try edit(signed, "</xha:Header>", "<xha:Extra/></xha:Header>"), "signature.digest_mismatch")
        // Wrong key: the certificate in KeyInfo is someone else's.
        let certA = Base64.encode(CertificateFile.der(f.orgA.certificate))
        let certB = Base64.encode(CertificateFile.der(f.orgB.certificate))
        await expectFailure(try edit(signed, certA, certB), "signature.invalid")
        // Signed by a key from another PKI (valid signature, untrusted signer).
        let foreign = try XMLSigner.signEnveloped(f.envelope().xml(), identity: f.stranger)
        await expectFailure(foreign, "signature.untrusted")
        // Expired at the time of checking.
        await expectFailure(signed, "signature.untrusted", at: Date().addingTimeInterval(900 * 86_400))
        // Not signed at all.
        await expectFailure(try f.envelope().xml(), "signature.missing")
        // Algorithm downgrade.
        await expectFailure(try edit(signed, XMLSecurityAlgorithm.rsaSHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
                            "security.unsupported_algorithm")
        // Reference to something other than the whole document.
        await expectFailure(try edit(signed, "<ds:Reference URI=\"\">", "<ds:Reference URI=\"#payload\">"),
                            "signature.reference_not_whole_document")
        // An extra transform (e.g. XPath filtering) is refused.
        await expectFailure(try edit(signed, "</ds:Transforms>",
                                     "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"></ds:Transform></ds:Transforms>"),
                            "signature.unexpected_structure")
    }

    /// Signature-wrapping variants: a second signature, the signature moved into the payload, a
    /// signed copy wrapped inside an unsigned document.
    func testSignatureWrappingIsRefused() async throws {
        let signed = String(decoding: try signedXHE(), as: UTF8.self)
        guard let start = signed.range(of: "<ds:Signature "), let end = signed.range(of: "</ds:Signature>") else {
            return XCTFail("no signature")
        }
        let signature = String(signed[start.lowerBound..<end.upperBound])
        // Two signatures.
        await expectFailure(Array(signed.replacingOccurrences(of: "</x:XHE>", with: signature + "</x:XHE>").utf8), "signature.multiple")
        // Signature moved away from the end of the document element.
        let moved = signed.replacingOccurrences(of: signature, with: "")
            .replacingOccurrences(of: "<xha:Payloads>", with: signature + "<xha:Payloads>")
        await expectFailure(Array(moved.utf8), "signature.misplaced")
        // The original signed envelope hidden inside an extension of a forged one.
        let body = signed.replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", with: "")
        let forged = try String(decoding: f.envelope().xml(), as: UTF8.self)
            .replacingOccurrences(of: "<XHEVersionID>", with: "<ext:XHEExtensions xmlns:ext=\"urn:x\">\(body)</ext:XHEExtensions><XHEVersionID>")
        await expectFailure(Array(forged.utf8), "signature.misplaced")
    }
}
