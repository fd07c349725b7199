import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// An access point replaces its AS4 certificate while peers still encrypt to the old one: with the
/// old identity kept in `as4.previous` (the overlap), their messages are still opened and answered
/// under the new key; once the old identity is removed, a message encrypted to it is refused at the
/// AS4 level and never stored. `kvitto check` wants an earlier identity to be this access point's.
final class NodeAS4RolloverTests: XCTestCase {
    func testOldAS4CertificateStillDecryptsDuringTheOverlap() async throws {
        let net = try await NodeFixture.network("as4-rollover", tls: false, retries: 0, interval: 1)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        // B's access point gets a new AS4 identity under the same party id; A's route still names the old certificate.
        var config = try NodeConfig.load(directory: net.b)
        let pki = try NodeSetup.loadCA(net.a)
        let renewed = try pki.issue(commonName: config.as4.partyId, organization: "Region B")
        try NodeSetup.write(identity: renewed, net.b + "/pki/as4-renewed")
        let old = NodeConfig.Identity(key: config.as4.key, certificate: config.as4.certificate)
        config.as4.key = "pki/as4-renewed.key"
        config.as4.certificate = "pki/as4-renewed.crt"
        config.as4.previous = [old]
        try config.save(directory: net.b)
        XCTAssertEqual(try NodeConfig.load(directory: net.b).as4.previous, [old], "as4.previous survives the file")
        let overlapFindings = await NodeCheck(node: net.b).run()
        XCTAssertEqual(overlapFindings.filter { $0.severity == .error }.map(\.description), [])

        func exchange(_ label: String, until status: MessageStatus) async throws -> String {
            try await NodeFixture.exchange(net.a, net.b, label, until: status)
        }
        // During the overlap: opened with the old key, and the AS4 receipt signed with it (the
        // certificate A knows B by), so A takes it as delivered.
        let during = try await exchange("Under övergången", until: .accepted)
        let a = try NodeFixture.open(net.a)
        let as4ID = try XCTUnwrap(try a.snapshot().messages[during]?.as4MessageId)
        let dispatch = try XCTUnwrap(try a.snapshot().dispatches[as4ID])
        XCTAssertEqual(dispatch.attemptsFinished, 1)
        let failure = try a.snapshot().messages[during]?.failure
        XCTAssertTrue(try NodeFixture.events(a, NodeEventType.transportReceiptReceived).contains { $0.payload["as4_message_id"]?.stringValue == as4ID },
                      "A refused B's receipt: \(failure ?? "")")
        XCTAssertTrue(try NodeFixture.events(a, NodeEventType.attemptFailed).isEmpty, "an attempt failed")
        await a.close()
        let b = try NodeFixture.open(net.b)
        XCTAssertEqual(try b.snapshot().messages[during]?.status, .accepted)
        XCTAssertEqual(b.certificateExpiries.map(\.name).filter { $0.hasPrefix("as4") }, ["as4", "as4_previous:0"])
        await b.close()

        // After the overlap: the old key is gone; what is encrypted to it is refused and not stored.
        config.as4.previous = nil
        try config.save(directory: net.b)
        let after = try await exchange("Efter övergången", until: .failed)
        let b2 = try NodeFixture.open(net.b)
        XCTAssertNil(try b2.snapshot().messages[after], "a message B could not decrypt was stored")
        await b2.close()

        // An earlier identity that is not this access point's is a configuration error.
        let foreign = try pki.issue(commonName: "kvitto-ap-someone-else", organization: "Region B")
        try NodeSetup.write(identity: foreign, net.b + "/pki/as4-foreign")
        config.as4.previous = [.init(key: "pki/as4-foreign.key", certificate: "pki/as4-foreign.crt")]
        try config.save(directory: net.b)
        let findings = await NodeCheck(node: net.b).run()
        XCTAssertTrue(findings.contains { $0.severity == .error && $0.member == "as4.previous[0].certificate" }, "\(findings.map(\.description))")
        try NodeFixture.verify(net.b)
    }
}
