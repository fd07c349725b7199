import Foundation
import XCTest
import X509
@testable import Transport

/// Trust anchors from the real SDK CA folders, and chain checks with the throwaway PKI.
final class CertificateTrustTests: XCTestCase {
    func testLoadsTheSDKCertificateAuthorities() throws {
        for env in ["opentest", "qa", "prod"] {
            let trust = try CertificateTrust.load(role: .o2o, directory: Corpus.sdk.appendingPathComponent("ca/\(env)/o2o").path)
            XCTAssertFalse(trust.anchors.isEmpty, env)
            XCTAssertTrue(trust.anchors.allSatisfy { $0.subject == $0.issuer }, env)
            XCTAssertTrue(trust.intermediates.allSatisfy { $0.subject != $0.issuer }, env)
        }
    }

    func testChainValidityAndKeyUsage() async throws {
        let pki = try ThrowawayPKI(commonName: "Trust Test CA")
        let leaf = try pki.issue(commonName: "Org")
        try await pki.trust(.o2o).evaluate(leaf.certificate, at: Date())
        // Not yet valid / expired.
        for time in [Date().addingTimeInterval(-86_400 * 2), Date().addingTimeInterval(86_400 * 900)] {
            do {
                try await pki.trust(.o2o).evaluate(leaf.certificate, at: time)
                XCTFail("accepted at \(time)")
            } catch { XCTAssertEqual(error.code, "signature.untrusted") }
        }
        // A key that may only encipher cannot sign.
        let encipherOnly = try pki.issue(commonName: "Enc", keyUsage: KeyUsage(keyEncipherment: true))
        do {
            try await pki.trust(.o2o).evaluate(encipherOnly.certificate, at: Date())
            XCTFail("accepted a certificate without digitalSignature")
        } catch { XCTAssertEqual(error.code, "signature.untrusted") }
        // Another PKI's root does not vouch for it; no anchors at all is an error too.
        let other = try ThrowawayPKI(commonName: "Other CA")
        do {
            try await other.trust(.o2o).evaluate(leaf.certificate, at: Date())
            XCTFail("accepted under a foreign root")
        } catch { XCTAssertEqual(error.code, "signature.untrusted") }
        do {
            try await CertificateTrust(role: .o2o, anchors: []).evaluate(leaf.certificate, at: Date())
            XCTFail("accepted without anchors")
        } catch { XCTAssertEqual(error.code, "signature.untrusted") }
    }

    /// A leaf from `pki` with `extensions` exactly (nothing added).
    func leaf(_ pki: ThrowawayPKI, extensions: Certificate.Extensions) throws -> Certificate {
        let key = try pki.issue(commonName: "unused").privateKey
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: pki.root.subject, subject: try DistinguishedName { CommonName("Malformed") },
            signatureAlgorithm: .sha256WithRSAEncryption, extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(pki.rootKey))
    }

    func testMalformedKeyUsageIsRefusedNotIgnored() async throws {
        let pki = try ThrowawayPKI(commonName: "Key Usage Test CA")
        // Without keyUsage the leaf is accepted (the extension is optional) ...
        try await pki.trust(.o2o).evaluate(try leaf(pki, extensions: Certificate.Extensions()), at: Date())
        // ... but a keyUsage extension that does not parse is not "absent": a NULL, an empty
        // value and an OCTET STRING where a BIT STRING belongs.
        for critical in [true, false] {
            for value: [UInt8] in [[0x05, 0x00], [], [0x04, 0x01, 0x80]] {
                let ext = Certificate.Extension(oid: .X509ExtensionID.keyUsage, critical: critical, value: value[...])
                let cert = try leaf(pki, extensions: try Certificate.Extensions([ext]))
                do {
                    try await pki.trust(.o2o).evaluate(cert, at: Date())
                    XCTFail("accepted a malformed keyUsage \(value) (critical: \(critical))")
                } catch {
                    XCTAssertEqual(error.code, "signature.untrusted")
                    XCTAssertTrue(error.description.contains("keyUsage"), error.description)
                }
            }
        }
    }
}
