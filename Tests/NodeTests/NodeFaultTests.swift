import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// What the sender sees when things go wrong: a recipient access point that is down (for a while,
/// or for good), a recipient its access point does not serve, an invalid SDK message.
final class NodeFaultTests: XCTestCase {
    func testRecipientDownThenBackIsRetriedOnTheStoredScheduleAndDelivered() async throws {
        let net = try await NodeFixture.network("down-up", tls: false, retries: 30, interval: 0.5)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        let nodeA = try NodeFixture.open(net.a)
        let nodeB = try NodeFixture.open(net.b)
        let id = try await DemoNetwork.running([nodeA]) { _ in
            let id = try await nodeA.submit(NodeFixture.message(), actor: "test")
            // B is down: attempts fail and retries are scheduled in the ledger.
            let failed = try await DemoNetwork.wait(timeout: 30) { try NodeFixture.events(nodeA, "transport.attempt.failed", message: id).count >= 2 }
            XCTAssertTrue(failed)
            XCTAssertEqual(try nodeA.snapshot().messages[id]?.status, .dispatched)
            // B comes back: the next retry delivers.
            return try await DemoNetwork.running([nodeB]) { _ in
                let ok = try await DemoNetwork.wait(timeout: 30) { try nodeA.snapshot().messages[id]?.status == .accepted }
                XCTAssertTrue(ok, "not accepted after B came back")
                return id
            }
        }
        // Every retry started no earlier than the time its failed attempt scheduled.
        let failures = try NodeFixture.events(nodeA, "transport.attempt.failed", message: id)
        let dispatches = try NodeFixture.events(nodeA, "message.dispatched", message: id)
        XCTAssertEqual(dispatches.count, failures.count + 1)
        for f in failures {
            let next = try XCTUnwrap(f.payload["next_attempt_at"]?.stringValue.flatMap { Timestamp(rfc3339: $0) })
            let attempt = try XCTUnwrap(f.payload["attempt"]?.intValue)
            let retry = try XCTUnwrap(dispatches.first { $0.payload["attempt"]?.intValue == attempt + 1 })
            XCTAssertGreaterThanOrEqual(retry.time, next, "attempt \(attempt + 1) started before its scheduled time")
            XCTAssertEqual(f.payload["reason"]?["code"]?.stringValue, "EBMS:0005")
        }
        XCTAssertEqual(try NodeFixture.events(nodeB, "message.received", message: id).count, 1)
        await nodeA.close()
        await nodeB.close()
        try NodeFixture.verify(net.a)
        try NodeFixture.verify(net.b)
    }

    func testRecipientDownForGoodFailsAfterTheConfiguredRetries() async throws {
        let net = try await NodeFixture.network("down", tls: false, retries: 2, interval: 0.2)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        let nodeA = try NodeFixture.open(net.a)
        let id = try await DemoNetwork.running([nodeA]) { _ in
            let id = try await nodeA.submit(NodeFixture.message(), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 30) { try nodeA.snapshot().messages[id]?.status == .failed }
            XCTAssertTrue(done)
            return id
        }
        XCTAssertEqual(try NodeFixture.events(nodeA, "message.dispatched", message: id).count, 3, "first attempt + 2 retries")
        XCTAssertEqual(try NodeFixture.events(nodeA, "transport.attempt.failed", message: id).count, 3)
        let failed = try NodeFixture.events(nodeA, "message.delivery.failed", message: id)
        XCTAssertEqual(failed.count, 1)
        XCTAssertEqual(failed.first?.payload["reason"]?["code"]?.stringValue, "EBMS:0301")
        // The sender's mailbox shows it.
        let mailbox = try nodeA.view(participant: NodeFixture.a.participant).messages(mailbox: NodeFixture.a)
        let record = try XCTUnwrap(mailbox.first { $0.id == id })
        XCTAssertEqual(record.status, .failed)
        XCTAssertTrue(record.failure?.contains("EBMS:0301") == true, record.failure ?? "")
        // Nothing is due any more.
        XCTAssertTrue(try nodeA.snapshot().dueDispatches(at: Timestamp.now()).isEmpty)
        await nodeA.close()
        try NodeFixture.verify(net.a)
    }

    func testUnknownRecipientIsNotServicedAndTheSenderIsTold() async throws {
        let net = try await NodeFixture.network("not-serviced", tls: false)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        // A believes 0203:c.example.se is reached through B's access point; B does not serve it.
        var config = try NodeConfig.load(directory: net.a)
        let viaB = try XCTUnwrap(config.routes.first)
        var viaC = viaB
        viaC.participant = "0203:c.example.se"
        config.routes.append(viaC)
        try config.save(directory: net.a)
        let nodeA = try NodeFixture.open(net.a)
        let nodeB = try NodeFixture.open(net.b)
        _ = try await nodeA.ledger.append(NodeSetup.addressBookDrafts(participant: "0203:c.example.se", name: "Myndighet C",
                                                                      functions: [("kansli", "Kansliet")], actor: "test")
            + NodeSetup.addressBookDrafts(participant: "0203:d.example.se", name: "Myndighet D", functions: [("kansli", "Kansliet")], actor: "test"))
        let c = FunctionalAddress(participant: "0203:c.example.se", function: "kansli")
        let id = try await DemoNetwork.running([nodeA, nodeB]) { _ in
            let id = try await nodeA.submit(NodeFixture.message(to: c), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 30) { try nodeA.snapshot().messages[id]?.status == .failed }
            XCTAssertTrue(done)
            return id
        }
        let record = try XCTUnwrap(try nodeA.view(participant: NodeFixture.a.participant).message(id))
        XCTAssertEqual(record.failure, "EBMS:0004 NOT_SERVICED")
        let error = try XCTUnwrap(try NodeFixture.events(nodeA, "transport.error.received", message: id).first)
        XCTAssertEqual(error.payload["reason"]?["code"]?.stringValue, "EBMS:0004")
        XCTAssertEqual(try NodeFixture.events(nodeA, "message.dispatched", message: id).count, 1, "an error signal is final: no retry")
        // B recorded the refusal and stored nothing.
        let rejections = try nodeB.snapshot().rejections
        XCTAssertEqual(rejections.map(\.code), ["EBMS:0004"])
        XCTAssertNil(rejections.first?.participant, "not a participant of B")
        XCTAssertTrue(try NodeFixture.events(nodeB, "message.received").isEmpty)
        // Clear errors before anything is sent.
        do {
            _ = try await nodeA.submit(NodeFixture.message(to: FunctionalAddress(participant: "0203:z.example.se", function: "x")), actor: "test")
            XCTFail("an address outside the address book was accepted")
        } catch let e as NodeError { XCTAssertEqual(e.code, .unknownAddress, e.description) }
        do {
            _ = try await nodeA.submit(NodeFixture.message(to: FunctionalAddress(participant: "0203:d.example.se", function: "kansli")), actor: "test")
            XCTFail("an organisation without a route was accepted")
        } catch let e as NodeError { XCTAssertEqual(e.code, .noRoute, e.description) }
        do {
            _ = try await nodeA.submit(NodeFixture.message(from: NodeFixture.b), actor: "test")
            XCTFail("a sender this node does not serve was accepted")
        } catch let e as NodeError { XCTAssertEqual(e.code, .notAParticipant, e.description) }
        await nodeA.close()
        await nodeB.close()
    }

    func testInvalidSDKMessageGetsARejectedMeddelandekvittens() async throws {
        let net = try await NodeFixture.network("invalid", tls: false)
        defer { try? FileManager.default.removeItem(atPath: net.base) }
        let nodeA = try NodeFixture.open(net.a)
        let nodeB = try NodeFixture.open(net.b)
        // A subject line longer than the SDK allows (256): the sender's own check refuses it…
        let tooLong = NodeFixture.message(String(repeating: "x", count: 300))
        do {
            _ = try await nodeA.submit(tooLong, actor: "test")
            XCTFail("an invalid message was submitted")
        } catch let e as NodeError { XCTAssertEqual(e.code, .invalidMessage, e.description) }
        // …sent anyway, the recipient answers REJECTED with the business-rule code.
        let id = try await DemoNetwork.running([nodeA, nodeB]) { _ in
            let id = try await nodeA.submit(tooLong, actor: "test", validate: false)
            let done = try await DemoNetwork.wait(timeout: 30) { try nodeA.snapshot().messages[id]?.status == .rejected }
            XCTAssertTrue(done)
            return id
        }
        let verdict = try XCTUnwrap(try nodeA.snapshot().messages[id]?.verdict)
        XCTAssertEqual(verdict.status, "REJECTED")
        XCTAssertEqual(verdict.lines.map(\.code), ["BV"])
        let received = try XCTUnwrap(try NodeFixture.events(nodeA, "message.receipt.received", message: id).first)
        XCTAssertEqual(received.payload["lines"]?.arrayElements.first?["reason_code"]?.stringValue, "subjectlabel")
        // The recipient keeps no content of a rejected message.
        XCTAssertNil(try nodeB.snapshot().messages[id]?.sdkMessage)
        XCTAssertEqual(try nodeB.snapshot().messages[id]?.status, .rejected)
        await nodeA.close()
        await nodeB.close()
    }
}
