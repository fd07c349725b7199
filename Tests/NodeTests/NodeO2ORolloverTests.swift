import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// An organisation replaces its O2O certificate while senders still encrypt to the old one: with
/// the old identity kept in `o2o_previous` (the overlap), their XHEs are still opened, and the
/// Meddelandekvittens is signed with the new key; once the old identity is removed, an XHE
/// encrypted to it is refused with the one fixed SIG line.
final class NodeO2ORolloverTests: XCTestCase {
    func testOldO2OCertificateStillDecryptsDuringTheOverlap() async throws {
        let net = try await NodeFixture.network("o2o-rollover", tls: false)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        // B's organisation gets a new O2O identity; A's route still names the old certificate.
        let renewed = try NodeSetup.loadCA(net.a).issue(commonName: NodeFixture.b.participant, organization: "Region B")
        try NodeSetup.write(identity: renewed, net.b + "/pki/o2o-renewed")
        var config = try NodeConfig.load(directory: net.b)
        let old = NodeConfig.Identity(key: config.participants[0].o2oKey, certificate: config.participants[0].o2oCertificate)
        config.participants[0].o2oKey = "pki/o2o-renewed.key"
        config.participants[0].o2oCertificate = "pki/o2o-renewed.crt"
        config.participants[0].o2oPrevious = [old]
        try config.save(directory: net.b)
        XCTAssertEqual(try NodeConfig.load(directory: net.b).participants[0].o2oPrevious, [old], "o2o_previous survives the file")
        let findings = await NodeCheck(node: net.b).run()
        XCTAssertEqual(findings.filter { $0.severity == .error }.map(\.description), [])

        func exchange(_ label: String, until status: MessageStatus) async throws -> String {
            try await NodeFixture.exchange(net.a, net.b, label, until: status)
        }
        // During the overlap: opened with the old key, answered ACCEPTED under the new one.
        let during = try await exchange("Under övergången", until: .accepted)
        let b = try NodeFixture.open(net.b)
        XCTAssertEqual(try b.snapshot().messages[during]?.status, .accepted)
        XCTAssertEqual(try b.snapshot().messages[during]?.label, "Under övergången")
        let receipt = try XCTUnwrap(try NodeFixture.events(b, NodeEventType.receiptSent, message: during).first)
        let sealed = try b.ledger.blobs.read(try XCTUnwrap(BlobField.parse(receipt.payload["xhe"])).sha256)
        await b.close()
        let signer = try await XMLSignatureVerifier(trust: NodeSetup.loadCA(net.a).trust(.o2o)).verify(try XMLDocument(bytes: sealed), at: Date()).signer
        XCTAssertEqual(CertificateFile.der(signer), CertificateFile.der(renewed.certificate), "signed with the new key")

        // After the overlap: the old key is gone, and what was encrypted to it is refused.
        config.participants[0].o2oPrevious = nil
        try config.save(directory: net.b)
        let after = try await exchange("Efter övergången", until: .rejected)
        let a = try NodeFixture.open(net.a)
        let verdict = try XCTUnwrap(try a.snapshot().messages[after]?.verdict)
        await a.close()
        XCTAssertEqual(verdict.lines.map(\.code), ["SIG"])
        XCTAssertEqual(verdict.lines.first?.reason, "The payload could not be decrypted with the recipient organisation's O2O key.")
        try NodeFixture.verify(net.b)
    }

    func testCertificatesExpiringWithinThirtyDaysAreWarnedOnceADay() async throws {
        let net = try await NodeFixture.network("expiry", tls: false)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        let node = try NodeFixture.open(net.a)
        let names = Set(node.certificateExpiries.map(\.name))
        XCTAssertEqual(names, ["as4", "o2o:" + NodeFixture.a.participant, "route_as4:" + NodeFixture.b.participant,
                               "route_o2o:" + NodeFixture.b.participant])
        let as4 = try XCTUnwrap(node.certificateExpiries.first { $0.name == "as4" }).notAfter
        XCTAssertTrue(node.warnIfCertificatesExpire(now: as4.addingTimeInterval(-40 * 86_400)).isEmpty, "40 days ahead: quiet")
        let soon = as4.addingTimeInterval(-10 * 86_400)
        XCTAssertTrue(node.warnIfCertificatesExpire(now: soon).contains { $0.name == "as4" }, "10 days ahead: warned")
        XCTAssertTrue(node.warnIfCertificatesExpire(now: soon.addingTimeInterval(3600)).isEmpty, "at most once a day")
        XCTAssertTrue(node.warnIfCertificatesExpire(now: soon.addingTimeInterval(86_400 + 1)).contains { $0.name == "as4" })
        await node.close()
    }
}
