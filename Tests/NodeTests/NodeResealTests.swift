import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// A recipient replaces both its AS4 and its O2O certificate while fifty messages wait for it:
/// when it is back, every one is delivered, sealed for the new certificates (it keeps no old key,
/// so only a new sealing opens), under the AS4 MessageId and XHE ID it had, each re-sealing
/// recorded once as `message.resealed`.
final class NodeResealTests: XCTestCase {
    func testQueuedMessagesAreSealedAgainForAPeersReplacedCertificates() async throws {
        let net = try await NodeFixture.network("reseal", tls: false, retries: 60, interval: 1)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        // Fifty messages while B is down: each has a failed attempt and waits for its retry.
        let nodeA = try NodeFixture.open(net.a)
        let ids: [String] = try await DemoNetwork.running([nodeA]) { _ in
            var ids: [String] = []
            for i in 0..<50 { ids.append(try await nodeA.submit(NodeFixture.message("I kö \(i)"), actor: "test")) }
            let tried = try await DemoNetwork.wait(timeout: 60) {
                let s = try nodeA.snapshot()
                return ids.allSatisfy { id in (s.messages[id]?.as4MessageId.flatMap { s.dispatches[$0] }?.attemptsFinished ?? 0) >= 1 }
            }
            XCTAssertTrue(tried, "not every message was tried while B was down")
            return ids
        }
        await nodeA.close()
        let before = try NodeFixture.open(net.a)
        let as4IDs = try ids.map { try XCTUnwrap(try before.snapshot().messages[$0]?.as4MessageId) }
        await before.close()

        // B gets a new AS4 and a new O2O identity (no overlap: its old keys are gone), and A's route follows.
        let pki = try NodeSetup.loadCA(net.a)
        var config = try NodeConfig.load(directory: net.b)
        let as4 = try pki.issue(commonName: config.as4.partyId, organization: "Region B")
        let o2o = try pki.issue(commonName: NodeFixture.b.participant, organization: "Region B")
        try NodeSetup.write(identity: as4, net.b + "/pki/as4-renewed")
        try NodeSetup.write(identity: o2o, net.b + "/pki/o2o-renewed")
        for old in [config.as4.key, config.participants[0].o2oKey] { try FileManager.default.removeItem(atPath: net.b + "/" + old) }
        config.as4.key = "pki/as4-renewed.key"
        config.as4.certificate = "pki/as4-renewed.crt"
        config.participants[0].o2oKey = "pki/o2o-renewed.key"
        config.participants[0].o2oCertificate = "pki/o2o-renewed.crt"
        try config.save(directory: net.b)
        try await NodeSetup.addPeer(directory: net.a, peer: net.b)

        let a = try NodeFixture.open(net.a), b = try NodeFixture.open(net.b)
        try await DemoNetwork.running([a, b]) { _ in
            let done = try await DemoNetwork.wait(timeout: 120) {
                let s = try a.snapshot()
                return ids.allSatisfy { s.messages[$0]?.status == .accepted }
            }
            let statuses = try a.snapshot().messages.values.filter { ids.contains($0.id) }.map(\.status.rawValue)
            XCTAssertTrue(done, "\(Dictionary(statuses.map { ($0, 1) }, uniquingKeysWith: +))")
        }
        let sa = try a.snapshot(), sb = try b.snapshot()
        for (id, as4ID) in zip(ids, as4IDs) {
            XCTAssertEqual(sa.messages[id]?.as4MessageId, as4ID, "the same AS4 MessageId on our side")
            XCTAssertEqual(sb.messages[id]?.as4MessageId, as4ID, "the same AS4 MessageId received")
            XCTAssertEqual(sb.messages[id]?.status, .accepted, "opened with the new O2O key")
            let d = try XCTUnwrap(sa.dispatches[as4ID])
            XCTAssertEqual(try a.ledger.blobs.read(d.recipientCertificate.sha256), CertificateFile.der(as4.certificate))
            XCTAssertEqual(try a.ledger.blobs.read(try XCTUnwrap(d.recipientO2OCertificate).sha256), CertificateFile.der(o2o.certificate))
        }
        // Each start recorded what changed: A first recorded its own certificates and B's route,
        // then (second start) the route's two replaced ones, nothing else; B, first started after
        // its replacement, recorded what it runs with. Each event carries the certificate itself.
        func changes(_ node: Node) throws -> [String] {
            try NodeFixture.events(node, NodeEventType.certificateChanged).map {
                "\($0.payload["certificate"]?.stringValue ?? "?") \($0.payload["change"]?.stringValue ?? "?")"
            }
        }
        XCTAssertEqual(try changes(a), ["as4 recorded", "o2o:\(NodeFixture.a.participant) recorded", "route_as4:\(NodeFixture.b.participant) recorded",
                                        "route_o2o:\(NodeFixture.b.participant) recorded", "route_as4:\(NodeFixture.b.participant) replaced",
                                        "route_o2o:\(NodeFixture.b.participant) replaced"])
        XCTAssertEqual(try changes(b), ["as4 recorded", "o2o:\(NodeFixture.b.participant) recorded", "route_as4:\(NodeFixture.a.participant) recorded",
                                        "route_o2o:\(NodeFixture.a.participant) recorded"], "B's first start is after the replacement")
        let replaced = try XCTUnwrap(try NodeFixture.events(a, NodeEventType.certificateChanged).last)
        XCTAssertEqual(replaced.payload["der_base64"]?.stringValue, Data(CertificateFile.der(o2o.certificate)).base64EncodedString())
        XCTAssertEqual(replaced.payload["previous_fingerprint_sha256"]?.stringValue,
                       try NodeFixture.events(a, NodeEventType.certificateChanged)[3].payload["fingerprint_sha256"]?.stringValue)
        let resealed = try NodeFixture.events(a, NodeEventType.resealed)
        XCTAssertEqual(resealed.count, 50, "each queued message sealed again once")
        XCTAssertEqual(Set(resealed.compactMap { $0.payload["as4_message_id"]?.stringValue }), Set(as4IDs))
        // The sender's evidence of a re-sealed message verifies with both verifiers.
        _ = try await GrantAdministration(access: a.access).grant(
            .init(grantee: OSUser.principalName(), scope: .participant(NodeFixture.a.participant), rights: [.audit], reason: "bevis"),
            by: OSUser.principal())
        let stream = try await EvidenceProducer(access: a.access, node: net.a, writesCheckpoints: true)
            .bundle(ids[0], EvidenceRequest(), as: OSUser.principal())
        var bundle: [UInt8] = []
        try stream.write { bundle += $0 }
        let report = await EvidenceVerifier().verify(bundle)
        XCTAssertTrue(report.ok, "\(report.json)")
        try Data(bundle).write(to: URL(fileURLWithPath: net.base + "/bundle.json"))
        let independent = try PythonPeer.run(PythonPeer.python, [NodeInternalDeliveryTests.verifier, net.base + "/bundle.json", "--json"])
        XCTAssertEqual(independent.status, 0, independent.output)
        await a.close()
        await b.close()
        try NodeFixture.verify(net.a)
        try NodeFixture.verify(net.b)
    }
}
