import Foundation
import XCTest
import X509
@testable import Transport

/// Acceptance 3 (encryption): what we encrypt xmlsec1 decrypts and vice versa; the sealed
/// (tm-base-ext-sigenc) XHE verifies with xmlsec1 and stays valid; failures are typed.
final class XMLEncryptionInteropTests: XCTestCase {
    let f = SecurityFixtures.shared

    func plainMessage() throws -> SDKMessage {
        let doc = try XMLDocument(bytes: try Corpus.bytes("message-v3/examples/messageWithAttachments3.xml"))
        return try SDKMessage(element: doc.root)
    }

    /// The SDK message inside an XHE document that xmlsec1 decrypted.
    func messageInside(_ path: String) throws -> SDKMessage {
        let doc = try XMLDocument(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let envelope = try XHEEnvelope(document: doc)
        guard case .xml(let bytes) = envelope.payload.content else { throw MutationError(message: "payload still encrypted") }
        return try SDKMessage(element: try XMLDocument(bytes: bytes).root)
    }

    func testWeSealXmlsecVerifiesAndDecrypts() throws {
        for (data, transport, name) in [(XMLEncryption.DataAlgorithm.aes256CBC, XMLEncryption.KeyTransport.rsaOAEPMGF1P, "cbc"),
                                        (.aes128GCM, .rsaOAEPMGF1P, "gcm128"), (.aes256GCM, .rsaOAEPMGF1P, "gcm256")] {
            let sealed = try XHESecurity.seal(f.envelope(), model: .signedAndEncrypted, signer: f.orgA, recipient: f.orgB.certificate,
                                              data: data, keyTransport: transport)
            XCTAssertEqual(try Corpus.validator.validate(sealed).violations, [], name)
            let path = try f.write("sealed-\(name).xml", sealed)
            let verify = try runTool("xmlsec1", ["--verify", "--trusted-pem", f.path("ca.pem"), path])
            XCTAssertEqual(verify.status, 0, verify.output)
            let out = f.path("sealed-\(name)-decrypted-by-xmlsec.xml")
            let decrypt = try runTool("xmlsec1", ["--decrypt", "--trusted-pem", f.path("ca.pem"), "--privkey-pem",
                                                  "\(f.path("b-key.pem")),\(f.path("b-cert.pem"))", "--output", out, path])
            XCTAssertEqual(decrypt.status, 0, decrypt.output)
            XCTAssertEqual(try messageInside(out), try plainMessage(), name)
            // xmlsec1 with the wrong organisation's key cannot decrypt it (the test can fail).
            let wrong = try runTool("xmlsec1", ["--decrypt", "--privkey-pem", "\(f.path("a-key.pem")),\(f.path("a-cert.pem"))",
                                                "--output", f.path("wrong-\(name).xml"), path])
            XCTAssertNotEqual(wrong.status, 0, wrong.output)
        }
    }

    func testXmlsecEncryptsWeDecrypt() async throws {
        let plain = try XHEEnvelope(id: "id-1", creationDateTime: "2026-11-22T10:00:00.000Z",
                                    businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .signedAndEncrypted),
                                    fromParty: "0203:myndighetA.org", toParty: "0203:myndighetB.org",
                                    payload: f.envelope().payload).xml()
        let plainPath = try f.write("to-encrypt.xml", plain)
        let templates = [
            ("cbc", XMLSecurityAlgorithm.aes256CBC, "aes-256",
             "<xenc:EncryptionMethod Algorithm=\"\(XMLSecurityAlgorithm.rsaOAEPMGF1P)\"><ds:DigestMethod Algorithm=\"\(XMLSecurityAlgorithm.sha1)\"/></xenc:EncryptionMethod>"),
            ("gcm", XMLSecurityAlgorithm.aes128GCM, "aes-128",
             "<xenc:EncryptionMethod Algorithm=\"\(XMLSecurityAlgorithm.rsaOAEPMGF1P)\"/>"),
        ]
        for (name, dataAlgorithm, sessionKey, keyMethod) in templates {
            let template = """
                <xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" \
                Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="\(dataAlgorithm)"/>\
                <ds:KeyInfo><xenc:EncryptedKey>\(keyMethod)<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>\
                <xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>\
                <xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>
                """
            let templatePath = try f.write("enc-template-\(name).xml", Array(template.utf8))
            let out = f.path("encrypted-by-xmlsec-\(name).xml")
            let r = try runTool("xmlsec1", ["--encrypt", "--pubkey-cert-pem", f.path("b-cert.pem"), "--session-key", sessionKey,
                                            "--xml-data", plainPath, "--node-xpath", "//*[local-name()='messagePayload']",
                                            "--output", out, templatePath])
            XCTAssertEqual(r.status, 0, r.output)
            let encrypted = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
            // The InstanceEncryptionIndicator says false, so the rules flag exactly that (R13).
            XCTAssertEqual(Set(try Corpus.validator.validate(encrypted).violations.map(\.ruleID)), ["R13-XHE"])
            let opened = try await XHESecurity.open(encrypted, verifier: f.verifier, decryptionIdentity: f.orgB, at: Date(),
                                                    requireSignature: false)
            let message = try SDKMessage(element: try XMLDocument(bytes: try XCTUnwrap(opened.payload)).root)
            XCTAssertEqual(message, try plainMessage(), name)
            // The wrong organisation's key fails with a typed reason.
            do {
                _ = try await XHESecurity.open(encrypted, verifier: f.verifier, decryptionIdentity: f.orgA, at: Date(),
                                               requireSignature: false)
                XCTFail("decrypted with the wrong key")
            } catch {
                XCTAssertEqual(error.code, "encryption.decryption_failed")
            }
        }
    }

    /// xmlenc11 `rsa-oaep` (SHA-256, MGF1-SHA-256) is newer than Debian's xmlsec1 1.2.37, which
    /// rejects its URI; it is checked here against our own implementation only (the AS4 layer
    /// meets it again with an independent peer).
    func testRSAOAEPSHA256RoundTrip() async throws {
        for data in [XMLEncryption.DataAlgorithm.aes128GCM, .aes256GCM, .aes256CBC] {
            let sealed = try XHESecurity.seal(f.envelope(), model: .signedAndEncrypted, signer: f.orgA, recipient: f.orgB.certificate,
                                              data: data, keyTransport: .rsaOAEPSHA256)
            XCTAssertTrue(String(decoding: sealed, as: UTF8.self).contains(XMLSecurityAlgorithm.mgf1SHA256))
            let opened = try await XHESecurity.open(sealed, verifier: f.verifier, decryptionIdentity: f.orgB, at: Date())
            XCTAssertEqual(try SDKMessage(element: try XMLDocument(bytes: try XCTUnwrap(opened.payload)).root), try plainMessage())
        }
    }

    func testSealOpenRoundTripAndTypedFailures() async throws {
        let sealed = try XHESecurity.seal(f.envelope(), model: .signedAndEncrypted, signer: f.orgA, recipient: f.orgB.certificate)
        let opened = try await XHESecurity.open(sealed, verifier: f.verifier, decryptionIdentity: f.orgB, at: Date())
        XCTAssertEqual(opened.signer, f.orgA.certificate)
        XCTAssertEqual(opened.envelope.toParty, "0203:myndighetB.org")
        XCTAssertEqual(try SDKMessage(element: try XMLDocument(bytes: try XCTUnwrap(opened.payload)).root), try plainMessage())
        // tm-base: neither signed nor encrypted, and opening it while requiring a signature fails.
        let base = try XHESecurity.seal(f.envelope(), model: .base, signer: nil, recipient: nil)
        do {
            _ = try await XHESecurity.open(base, verifier: f.verifier, decryptionIdentity: f.orgB, at: Date())
            XCTFail("unsigned envelope accepted")
        } catch { XCTAssertEqual(error.code, "signature.missing") }
        let plainOpen = try await XHESecurity.open(base, verifier: f.verifier, decryptionIdentity: nil, at: Date(), requireSignature: false)
        XCTAssertNil(plainOpen.signer)
        // A flipped ciphertext byte breaks the signature first.
        var text = String(decoding: sealed, as: UTF8.self)
        let marker = "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
        let range = try XCTUnwrap(text.range(of: marker))
        let before = text.index(range.lowerBound, offsetBy: -5)
        text.replaceSubrange(before..<text.index(after: before), with: text[before] == "A" ? "B" : "A")
        do {
            _ = try await XHESecurity.open(Array(text.utf8), verifier: f.verifier, decryptionIdentity: f.orgB, at: Date())
            XCTFail("altered ciphertext accepted")
        } catch { XCTAssertEqual(error.code, "signature.digest_mismatch") }
        // Decrypting with the wrong key.
        do {
            _ = try await XHESecurity.open(sealed, verifier: f.verifier, decryptionIdentity: f.orgA, at: Date())
            XCTFail("decrypted with the wrong key")
        } catch { XCTAssertEqual(error.code, "encryption.decryption_failed") }
    }
}
