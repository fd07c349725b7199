import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// Two nodes over HTTPS with mutual TLS: submit → XHE → AS4 → transport receipt → Meddelandekvittens,
/// every step a ledger event on both sides.
final class NodeEndToEndTests: XCTestCase {
    func testTwoNodesExchangeAMessageAndItsReceipts() async throws {
        let net = try await NodeFixture.network("e2e")
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        let nodeA = try NodeFixture.open(net.a)
        let nodeB = try NodeFixture.open(net.b)
        let attachment = (0..<5000).map { UInt8($0 % 251) }
        let id = try await DemoNetwork.running([nodeA, nodeB]) { _ in
            let id = try await nodeA.submit(NodeFixture.message("Kallelse", attachment: attachment), actor: "user@" + NodeFixture.a.participant)
            let done = try await DemoNetwork.wait(timeout: 60) {
                let sa = try nodeA.snapshot(), sb = try nodeB.snapshot()
                let back = sb.messages[id]?.receiptDispatch.flatMap { sb.dispatches[$0] }
                return sa.messages[id]?.status == .accepted && back?.outcome == .delivered
            }
            let state = try nodeA.snapshot().messages[id]
            XCTAssertTrue(done, "not accepted within 60 s: \(String(describing: state))")
            // The running nodes keep their persisted projections up with their ledgers.
            for node in [nodeA, nodeB] {
                let caughtUp = try await DemoNetwork.wait(timeout: 10) {
                    let head = try node.ledger.durableHead()
                    return try node.projections.status().allSatisfy { $0.appliedSeq == head }
                }
                XCTAssertTrue(caughtUp, "projections behind the ledger: \(String(describing: try? node.projections.status()))")
                let seqs = try XCTUnwrap(try node.snapshot().messages[id]).eventSeqs
                XCTAssertEqual(try EventIndex.seqs(.subject("message:" + id), upTo: seqs.last ?? 0, in: node.projections.storage), seqs)
            }
            return id
        }
        // Sender: the whole life of the message, in order.
        let a = try XCTUnwrap(try nodeA.view(participant: NodeFixture.a.participant).trace(id)).map(\.type)
        XCTAssertEqual(a.first, "message.submitted")
        for t in ["message.dispatched", "transport.receipt.received", "message.receipt.received", "transport.receipt.sent"] {
            XCTAssertEqual(a.filter { $0 == t }.count, 1, "\(t) in \(a)")
        }
        let recordA = try XCTUnwrap(try nodeA.view(participant: NodeFixture.a.participant).message(id))
        XCTAssertEqual(recordA.verdict?.status, "ACCEPTED")
        XCTAssertEqual(recordA.to, NodeFixture.b)
        // Recipient: stored, answered, content readable through the participant's view.
        let viewB = try nodeB.view(participant: NodeFixture.b.participant)
        let recordB = try XCTUnwrap(try viewB.message(id))
        XCTAssertEqual(recordB.status, .accepted)
        XCTAssertEqual(recordB.from, NodeFixture.a)
        XCTAssertEqual(recordB.to, NodeFixture.b)
        XCTAssertEqual(recordB.label, "Kallelse")
        XCTAssertEqual(recordB.attachments.map(\.fileName), ["bilaga.txt"])
        XCTAssertEqual(try viewB.blob(recordB.attachments[0].blob.sha256), attachment)
        let sdk = try SDKMessage(element: try XMLDocument(bytes: try XCTUnwrap(try viewB.blob(try XCTUnwrap(recordB.sdkMessage).sha256))).root)
        XCTAssertEqual(sdk.header.messageId, id)
        XCTAssertEqual(sdk.documents.first?.texts, ["Hej från testet."])
        // Evidence: the raw AS4 envelope B received and the signed receipt A got back are blobs.
        let received = try XCTUnwrap(try NodeFixture.events(nodeB, "message.received", message: id).first)
        let soap = try nodeB.ledger.blobs.read(try XCTUnwrap(Digest32(hex: try XCTUnwrap(received.payload["soap"]?["sha256"]?.stringValue))))
        XCTAssertTrue(String(decoding: soap, as: UTF8.self).contains("UserMessage"))
        let receipt = try XCTUnwrap(try NodeFixture.events(nodeA, "transport.receipt.received", message: id).first)
        let signal = try nodeA.ledger.blobs.read(try XCTUnwrap(Digest32(hex: try XCTUnwrap(receipt.payload["receipt"]?["sha256"]?.stringValue))))
        XCTAssertTrue(String(decoding: signal, as: UTF8.self).contains("NonRepudiationInformation"))
        // Retention: B erases the attachment; the message's trace shows the erasure, the content is gone.
        let erased = try await nodeB.ledger.eraseBlob(recordB.attachments[0].blob.sha256, actor: "arkivarie@" + NodeFixture.b.participant,
            rule: "Gallringsbeslut 2026:14", reason: "bevarandetiden har gått ut")
        let traceB = try XCTUnwrap(try viewB.trace(id))
        XCTAssertEqual(traceB.last?.seq, erased.seq)
        XCTAssertEqual(traceB.map(\.seq), traceB.map(\.seq).sorted())
        XCTAssertTrue(MessageTimeline.summary(erased).contains("under Gallringsbeslut 2026:14"), MessageTimeline.summary(erased))
        XCTAssertThrowsError(try viewB.blob(recordB.attachments[0].blob.sha256))
        XCTAssertFalse(try XCTUnwrap(try nodeA.view(participant: NodeFixture.a.participant).trace(id)).contains { $0.type == "blob.erased" })
        // The projections are a pure function of the ledger: the persisted state the node works
        // from holds exactly what an in-memory fold from seq 1 holds.
        for node in [nodeA, nodeB] {
            XCTAssertEqual(try Projector(ledger: node.ledger).snapshot(), try node.snapshot())
            XCTAssertEqual(try node.snapshot().appliedSeq, try node.ledger.durableHead())
        }
        await nodeA.close()
        await nodeB.close()
        try NodeFixture.verify(net.a)
        try NodeFixture.verify(net.b)
    }
}
