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
}
