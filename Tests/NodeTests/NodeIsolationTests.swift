import Foundation
import Ledger
import Node
import Projections
import XCTest

/// One node serving two participants: nothing of one is readable through the other's identities.
final class NodeIsolationTests: XCTestCase {
    func testParticipantsOnOneNodeSeeOnlyTheirOwnMessages() async throws {
        let base = try NodeFixture.scratch("isolation")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let p1 = FunctionalAddress(participant: "0203:one.example.se", function: "kansli")
        let p2 = FunctionalAddress(participant: "0203:two.example.se", function: "kansli")
        var shared = NodeSetup.Options(name: "shared", participants: [
            .init(id: p1.participant, name: "Kommun Ett", functions: [(p1.function, "Kansliet")]),
            .init(id: p2.participant, name: "Kommun Två", functions: [(p2.function, "Kansliet")]),
        ])
        shared.tls = false
        shared.port = try await DemoNetwork.freePorts(1)[0]
        _ = try await NodeSetup.initialize(directory: base + "/shared", options: shared)
        var other = NodeSetup.Options(name: "other", participants: [.init(id: NodeFixture.b.participant, name: "Region B",
                                                                          functions: [(NodeFixture.b.function, "Registraturen")])])
        other.tls = false
        other.port = try await DemoNetwork.freePorts(1)[0]
        other.ca = base + "/shared"
        _ = try await NodeSetup.initialize(directory: base + "/other", options: other)
        try await NodeSetup.addPeer(directory: base + "/shared", peer: base + "/other")
        try await NodeSetup.addPeer(directory: base + "/other", peer: base + "/shared")
        let node = try NodeFixture.open(base + "/shared")
        let remote = try NodeFixture.open(base + "/other")
        let secret = Array("endast för kommun ett".utf8)
        let (inbound, outbound) = try await DemoNetwork.running([node, remote]) { _ in
            let inbound = try await remote.submit(NodeFixture.message("Till ett", from: NodeFixture.b, to: p1, attachment: secret), actor: "test")
            let outbound = try await node.submit(NodeFixture.message("Från ett", from: p1, to: NodeFixture.b, attachment: secret), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) {
                let s = try node.projector.snapshot()
                return s.messages[inbound]?.status == .accepted && s.messages[outbound]?.status == .accepted
            }
            XCTAssertTrue(done)
            return (inbound, outbound)
        }
        let one = try node.view(identity: "user@" + p1.participant)
        let two = try node.view(identity: "user@" + p2.participant)
        XCTAssertEqual(one.participant, p1.participant)
        XCTAssertEqual(two.participant, p2.participant)
        // Participant one sees both messages, their events and their content.
        XCTAssertEqual(Set(try one.messages().map(\.id)), [inbound, outbound])
        let record = try XCTUnwrap(try one.message(inbound))
        XCTAssertEqual(try one.blob(record.attachments[0].blob.sha256), secret)
        XCTAssertNotNil(try one.blob(try XCTUnwrap(record.sdkMessage).sha256))
        XCTAssertFalse(try XCTUnwrap(try one.trace(inbound)).isEmpty)
        // Participant two sees nothing of them: not listed, not found, no events, no content.
        XCTAssertTrue(try two.messages().isEmpty)
        XCTAssertTrue(try two.messages(mailbox: p1).isEmpty)
        for id in [inbound, outbound] {
            XCTAssertNil(try two.message(id))
            XCTAssertNil(try two.trace(id))
        }
        let outRecord = try XCTUnwrap(try one.message(outbound))
        for hash in [record.attachments[0].blob.sha256, try XCTUnwrap(record.sdkMessage).sha256, try XCTUnwrap(record.xhe).sha256,
                     try XCTUnwrap(outRecord.sdkMessage).sha256] {
            XCTAssertNotNil(try one.blob(hash))
            XCTAssertNil(try two.blob(hash), "participant two read a blob of participant one")
        }
        // Identities are checked.
        XCTAssertThrowsError(try node.view(identity: "nobody")) { XCTAssertEqual(($0 as? NodeError)?.code, .unknownIdentity) }
        XCTAssertThrowsError(try node.view(participant: NodeFixture.b.participant)) { XCTAssertEqual(($0 as? NodeError)?.code, .notAParticipant) }
        await node.close()
        await remote.close()
    }
}
