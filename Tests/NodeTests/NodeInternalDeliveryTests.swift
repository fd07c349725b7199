import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// Delivery inside one node: between two participants, and between two functional mailboxes of
/// one participant, with the SDK semantics of an exchange between two nodes (sealed and opened
/// XHE, validation, Meddelandekvittens both ways) and without an AS4 hop. Compared side by side
/// with the same participant's exchange with another node.
final class NodeInternalDeliveryTests: XCTestCase {
    static let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
    static let p1Economy = FunctionalAddress(participant: "0203:one.example.se", function: "ekonomi")
    static let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")

    /// The events of a message that are not about AS4 transport (what both kinds of delivery share).
    static func sdkLevel(_ types: [String]) -> [String] {
        types.filter { !$0.hasPrefix("transport.") && $0 != NodeEventType.dispatched && $0 != NodeEventType.deliveredInternally }
    }

    func testParticipantsOfOneNodeExchangeMessagesAsTwoNodesDo() async throws {
        let base = try NodeFixture.scratch("inside")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (p1, p1Economy, p2, b) = (Self.p1, Self.p1Economy, Self.p2, NodeFixture.b)
        var shared = NodeSetup.Options(name: "shared", participants: [
            .init(id: p1.participant, name: "Kommun Ett", functions: [(p1.function, "Kansliet"), (p1Economy.function, "Ekonomi")]),
            .init(id: p2.participant, name: "Kommun Två", functions: [(p2.function, "Kansliet")]),
        ])
        shared.port = try await DemoNetwork.freePorts(1)[0]
        _ = try await NodeSetup.initialize(directory: base + "/shared", options: shared)
        try await NodeFixture.addOther(in: base)
        let node = try NodeFixture.open(base + "/shared")
        let remote = try NodeFixture.open(base + "/other")
        let secret = Array("endast för kommun två".utf8)
        let tooLong = NodeFixture.message(String(repeating: "x", count: 300), from: p1, to: p2)
        let copy = NodeEventType.internalCopy

        let (inside, sameOrganisation, external, rejected) = try await DemoNetwork.running([node, remote]) { _ in
            let inside = try await node.submit(NodeFixture.message("Till två", from: p1, to: p2, attachment: secret), actor: "test")
            let sameOrganisation = try await node.submit(NodeFixture.message("Till ekonomi", from: p1, to: p1Economy), actor: "test")
            let external = try await node.submit(NodeFixture.message("Till två", from: p1, to: b, attachment: secret), actor: "test")
            let rejected = try await node.submit(tooLong, actor: "test", validate: false)
            let done = try await DemoNetwork.wait(timeout: 60) {
                let s = try node.snapshot(), r = try remote.snapshot()
                let back = r.messages[external]?.receiptDispatch.flatMap { r.dispatches[$0] }
                return [inside, copy(inside), sameOrganisation, copy(sameOrganisation), external].allSatisfy { s.messages[$0]?.status == .accepted }
                    && s.messages[rejected]?.status == .rejected && s.messages[copy(rejected)]?.status == .rejected
                    && back?.outcome == .delivered
            }
            XCTAssertTrue(done, "not all answered within 60 s: \(String(describing: try? node.snapshot().messages))")
            return (inside, sameOrganisation, external, rejected)
        }
        await remote.close()
        let state = try node.snapshot()
        let remoteState = try remote.snapshot()

        // The sender's side: the same statuses and verdict as with another node, no AS4.
        let sent = try XCTUnwrap(state.messages[inside]), sentAway = try XCTUnwrap(state.messages[external])
        XCTAssertEqual(sent.status, sentAway.status)
        XCTAssertEqual(sent.verdict?.status, "ACCEPTED")
        XCTAssertEqual(sent.verdict?.lines, sentAway.verdict?.lines)
        XCTAssertTrue(sent.isInternal)
        XCTAssertFalse(sentAway.isInternal)
        XCTAssertEqual(sent.to, p2)
        // The recipient's side: what Region B holds of the same message from another node.
        let got = try XCTUnwrap(state.messages[copy(inside)]), gotAway = try XCTUnwrap(remoteState.messages[external])
        for (field, mine, theirs) in [("status", got.status.rawValue, gotAway.status.rawValue), ("label", got.label, gotAway.label),
                                      ("from", got.from?.description, gotAway.from?.description),
                                      ("verdict", got.verdict?.status, gotAway.verdict?.status),
                                      ("attachments", got.attachments.map(\.fileName).description, gotAway.attachments.map(\.fileName).description)] {
            XCTAssertEqual(mine, theirs, field)
        }
        XCTAssertEqual(got.participant, p2.participant)
        XCTAssertEqual(got.to, p2)
        XCTAssertEqual(got.direction, .inbound)
        XCTAssertEqual(got.conversation, inside)
        XCTAssertEqual(try node.ledger.blobs.read(got.attachments[0].blob.sha256), secret)
        let sdk = try SDKMessage(element: try XMLDocument(bytes: try node.ledger.blobs.read(try XCTUnwrap(got.sdkMessage).sha256)).root)
        XCTAssertEqual(sdk.header.messageId, inside, "the SDK message keeps its id; only the recipient's record has its own")
        // The same steps at the SDK level; the transport steps say "internal" and name no AS4 message.
        func types(_ s: NodeProjection, _ id: String, _ n: Node) throws -> [String] {
            try s.messages[id]!.eventSeqs.map { try XCTUnwrap(try n.ledger.event($0)).type }
        }
        XCTAssertEqual(try types(state, inside, node), [NodeEventType.submitted, NodeEventType.deliveredInternally, NodeEventType.receiptReceived])
        XCTAssertEqual(try types(state, copy(inside), node), [NodeEventType.received, NodeEventType.receiptSent])
        XCTAssertEqual(Self.sdkLevel(try types(state, inside, node)), Self.sdkLevel(try types(state, external, node)))
        XCTAssertEqual(Self.sdkLevel(try types(state, copy(inside), node)), Self.sdkLevel(try types(remoteState, external, remote)))
        let seqs = (sent.eventSeqs + got.eventSeqs).sorted()
        for seq in seqs {
            let e = try XCTUnwrap(try node.ledger.event(seq))
            XCTAssertEqual(e.payload["transport"]?.stringValue, "internal", e.type)
            XCTAssertNil(e.payload["as4_message_id"], e.type)
            XCTAssertNil(e.payload["dispatch"], e.type)
        }
        // Each hand-over is one append: the submission with the delivery, the receipt issued with its filing.
        XCTAssertEqual(got.eventSeqs[0], sent.eventSeqs[0] + 1)
        XCTAssertEqual(sent.eventSeqs[1], got.eventSeqs[0] + 1)
        XCTAssertEqual(sent.eventSeqs[2], got.eventSeqs[1] + 1)
        XCTAssertFalse(state.dispatches.values.contains { d in d.messageId == inside || d.messageId == copy(inside) }, "no AS4 dispatch")
        XCTAssertEqual(PublicEventType(try XCTUnwrap(try node.ledger.event(sent.eventSeqs[1]))), .messageDelivered)

        // Two functions of one organisation: two records of one participant, one per mailbox.
        let fromKansli = try XCTUnwrap(state.messages[sameOrganisation]), toEconomy = try XCTUnwrap(state.messages[copy(sameOrganisation)])
        XCTAssertEqual([fromKansli.mailbox, toEconomy.mailbox], [p1, p1Economy])
        XCTAssertEqual([fromKansli.participant, toEconomy.participant], [p1.participant, p1.participant])
        XCTAssertEqual(toEconomy.label, "Till ekonomi")
        XCTAssertEqual(fromKansli.verdict?.status, "ACCEPTED")

        // A message the recipient refuses: the same REJECTED lines as between two nodes, no content kept.
        let refused = try XCTUnwrap(state.messages[rejected])
        XCTAssertEqual(refused.verdict?.lines.map(\.code), ["BV"])
        let filed = try XCTUnwrap(try NodeFixture.events(node, NodeEventType.receiptReceived, message: rejected).first)
        XCTAssertEqual(filed.payload["lines"]?.arrayElements.first?["reason_code"]?.stringValue, "subjectlabel")
        XCTAssertNil(state.messages[copy(rejected)]?.sdkMessage)

        // Isolation: each participant's view holds its side only, by grants.
        XCTAssertEqual(Set(try node.view(participant: p2.participant).messages().map(\.id)), [copy(inside), copy(rejected)])
        XCTAssertFalse(try node.view(participant: p1.participant).messages().contains { $0.id == copy(inside) })
        let user1 = NodeIsolationTests.person("197001011234"), user2 = NodeIsolationTests.person("198002022345")
        let admin = GrantAdministration(access: node.access)
        _ = try await admin.grant(.init(grantee: user1.names[0], scope: .participant(p1.participant), rights: [.read], reason: "ett"), by: OSUser.principal())
        _ = try await admin.grant(.init(grantee: user2.names[0], scope: .participant(p2.participant), rights: [.read], reason: "två"), by: OSUser.principal())
        let access = node.access
        let listed2 = try await access.messages(as: user2), listed1 = try await access.messages(as: user1)
        XCTAssertEqual(Set(listed2.map(\.record.id)), [copy(inside), copy(rejected)])
        XCTAssertFalse(listed1.contains { $0.record.participant == p2.participant })
        XCTAssertTrue(listed1.contains { $0.record.id == inside })
        await assertNotFound { _ = try await access.message(inside, as: user2) }
        await assertNotFound { _ = try await access.message(copy(inside), as: user1) }
        await assertNotFound { _ = try await access.trace(inside, as: user2) }
        let read = try await access.content(copy(inside), part: .attachment(0), purpose: "ärende 7", as: user2)
        XCTAssertEqual(read.bytes, secret)
        // The other participant's user learns the XHE ID from its own copy; asking for the
        // sender's record is refused and audited, but is no step of the message: its trace does
        // not name who asked.
        let probes = try NodeFixture.events(node, AccessEventType.denied).filter { $0.actor == user2.actor }
        XCTAssertTrue(probes.contains { $0.subject == "message:" + inside && $0.payload["reason"]?.stringValue == "not_visible" })
        let traced = try await access.trace(inside, as: user1)
        XCTAssertFalse(traced.contains { $0.event.actor == user2.actor }, "\(traced.map { ($0.event.type, $0.event.actor) })")
        XCTAssertEqual(traced.filter { $0.event.type.hasPrefix("message.") }.map(\.event.seq), sent.eventSeqs, "the sender's trace is its side only")
        XCTAssertTrue(traced.allSatisfy { $0.event.subject == "message:" + inside }, "\(traced.map { ($0.event.type, $0.event.subject) })")

        // Evidence: the recipient's bundle verifies, with the XHE ID its received event names.
        _ = try await admin.grant(.init(grantee: OSUser.principalName(), scope: .participant(p2.participant), rights: [.read], reason: "bevis"),
                                  by: OSUser.principal())
        let stream = try await EvidenceProducer(access: access, node: base + "/shared", writesCheckpoints: true)
            .bundle(copy(inside), EvidenceRequest(content: true, purpose: "bevis"), as: OSUser.principal())
        var bundle: [UInt8] = []
        try stream.write { bundle += $0 }
        let report = await EvidenceVerifier().verify(bundle)
        XCTAssertTrue(report.ok, "\(report.json)")
        let file = base + "/bundle.json"
        try Data(bundle).write(to: URL(fileURLWithPath: file))
        let (status, output) = try PythonPeer.run(PythonPeer.python, [Self.verifier, file, "--json"])
        XCTAssertEqual(status, 0, output)
        await node.close()
        try NodeFixture.verify(base + "/shared")
        try NodeFixture.verify(base + "/other")
    }

    static let verifier = NodeFixture.projectRoot.appendingPathComponent("Tests/evidence/verify_bundle.py").path

    private func assertNotFound(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("visible", file: file, line: line)
        } catch let e as NodeError {
            XCTAssertEqual(e.code, .notFound, e.description, file: file, line: line)
        } catch { XCTFail("\(error)", file: file, line: line) }
    }
}
