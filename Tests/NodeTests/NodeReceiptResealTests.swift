import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// A Meddelandekvittens waiting for its recipient when that recipient replaces its AS4 and O2O
/// certificates: at its next attempt it is sealed again for the new ones (the old keys are gone,
/// so only a new sealing opens) under the same AS4 MessageId, recorded once as `message.resealed`
/// of kind `receipt`, and the message it answers keeps its own XHE.
final class NodeReceiptResealTests: XCTestCase {
    func testAQueuedReceiptIsSealedAgainForTheSendersReplacedCertificates() async throws {
        let net = try await NodeFixture.network("receipt-reseal", tls: false, retries: 60, interval: 1)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        // B's route to A names a port where nothing listens: its Meddelandekvittens waits.
        var configB = try NodeConfig.load(directory: net.b)
        let endpointA = configB.routes[0].endpoint
        configB.routes[0].endpoint = "http://127.0.0.1:9/as4"
        try configB.save(directory: net.b)
        let a0 = try NodeFixture.open(net.a), b0 = try NodeFixture.open(net.b)
        let id = try await DemoNetwork.running([a0, b0]) { _ in
            let id = try await a0.submit(NodeFixture.message("Kvittens i kö"), actor: "test")
            let waiting = try await DemoNetwork.wait(timeout: 60) {
                let s = try b0.snapshot()
                return (s.messages[id]?.receiptDispatch.flatMap { s.dispatches[$0] }?.attemptsFinished ?? 0) >= 1
            }
            XCTAssertTrue(waiting, "B's Meddelandekvittens was never tried")
            return id
        }
        let xheBefore = try XCTUnwrap(try b0.snapshot().messages[id]?.xhe)
        let receiptAS4 = try XCTUnwrap(try b0.snapshot().messages[id]?.receiptDispatch)
        await a0.close()
        await b0.close()

        // A gets a new AS4 and a new O2O identity (no overlap), and B's route follows, at A's real endpoint.
        let pki = try NodeSetup.loadCA(net.a)
        var configA = try NodeConfig.load(directory: net.a)
        let as4 = try pki.issue(commonName: configA.as4.partyId, organization: "Kommun A")
        let o2o = try pki.issue(commonName: NodeFixture.a.participant, organization: "Kommun A")
        try NodeSetup.write(identity: as4, net.a + "/pki/as4-renewed")
        try NodeSetup.write(identity: o2o, net.a + "/pki/o2o-renewed")
        for old in [configA.as4.key, configA.participants[0].o2oKey] { try FileManager.default.removeItem(atPath: net.a + "/" + old) }
        configA.as4.key = "pki/as4-renewed.key"
        configA.as4.certificate = "pki/as4-renewed.crt"
        configA.participants[0].o2oKey = "pki/o2o-renewed.key"
        configA.participants[0].o2oCertificate = "pki/o2o-renewed.crt"
        try configA.save(directory: net.a)
        try await NodeSetup.addPeer(directory: net.b, peer: net.a)
        XCTAssertEqual(try NodeConfig.load(directory: net.b).routes[0].endpoint, endpointA)

        let a = try NodeFixture.open(net.a), b = try NodeFixture.open(net.b)
        try await DemoNetwork.running([a, b]) { _ in
            let done = try await DemoNetwork.wait(timeout: 120) { try a.snapshot().messages[id]?.status == .accepted }
            let status = try a.snapshot().messages[id]?.status
            XCTAssertTrue(done, "A never got the Meddelandekvittens: \(String(describing: status))")
        }
        let sb = try b.snapshot()
        XCTAssertEqual(sb.messages[id]?.receiptDispatch, receiptAS4, "the same AS4 MessageId")
        XCTAssertEqual(sb.messages[id]?.xhe, xheBefore, "the answered message keeps its own XHE")
        let d = try XCTUnwrap(sb.dispatches[receiptAS4])
        XCTAssertEqual(d.outcome, .delivered)
        XCTAssertEqual(try b.ledger.blobs.read(try XCTUnwrap(d.recipientO2OCertificate).sha256), CertificateFile.der(o2o.certificate))
        XCTAssertEqual(try b.ledger.blobs.read(d.recipientCertificate.sha256), CertificateFile.der(as4.certificate))
        let resealed = try NodeFixture.events(b, NodeEventType.resealed)
        XCTAssertEqual(resealed.count, 1)
        XCTAssertEqual(resealed.first?.payload["kind"]?.stringValue, "receipt")
        XCTAssertNotNil(resealed.first?.payload["receipt_id"]?.stringValue, "the receipt's own id is on record")
        await a.close()
        await b.close()
    }
}
