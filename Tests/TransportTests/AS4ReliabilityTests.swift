import Foundation
import XCTest
import X509
@testable import Transport

/// An in-memory retry schedule (the node's is a ledger projection).
actor MemorySchedule: RetrySchedule {
    var entries: [String: (attempt: Int, next: Date?)] = [:]
    func recordAttempt(messageId: String, attempt: Int, next: Date?) async throws { entries[messageId] = (attempt, next) }
    func due(at now: Date) async throws -> [(messageId: String, attempt: Int)] {
        entries.compactMap { id, e in e.next.map { $0 <= now } == true ? (id, e.attempt + 1) : nil }
    }
    func entry(_ id: String) -> (attempt: Int, next: Date?)? { entries[id] }
}

final class AS4ReliabilityTests: XCTestCase {
    func testReceptionAwarenessSchedules() {
        let sdk = PMode.sdk().receptionAwareness
        XCTAssertEqual(sdk, PMode.ReceptionAwareness(domibus: "12;4;CONSTANT"))
        XCTAssertEqual((1...12).map { sdk.delay(beforeRetry: $0) }, Array(repeating: 240, count: 12))
        XCTAssertNil(sdk.delay(beforeRetry: 13))
        let exponential = PMode.ReceptionAwareness(retries: 4, interval: 60, strategy: .exponential)
        XCTAssertEqual((1...5).map { exponential.delay(beforeRetry: $0) }, [60, 120, 240, 480, nil])
        XCTAssertNil(PMode.ReceptionAwareness(domibus: "x;4;CONSTANT"))
    }

    /// The receiver is down: the attempt is scheduled for retry; once it is up, the same message
    /// (same MessageId) is delivered; a later resend gets the original receipt; without retries
    /// left the dispatch fails.
    func testRetryUntilTheReceiverIsUp() async throws {
        let s = try AS4HTTPSTests.setup()
        let client = try AS4HTTPClient(tls: AS4TLS(identity: s.senderTLS, trustAnchors: [s.pki.root]), connectTimeout: 2)
        let schedule = MemorySchedule()
        var mode = PMode.sdk()
        mode.receptionAwareness = .init(retries: 2, interval: 60, strategy: .constant)
        let dispatcher = AS4Dispatcher(client: client, schedule: schedule, pmode: mode)
        let wire = try AS4HTTPSTests.message(s, payload: Array("<xhe/>".utf8))
        // Nothing listens on this port yet.
        let probe = try await AS4HTTPSTests.startServer(s, delivery: CollectingDelivery(served: []), duplicates: nil)
        probe.1.cancel()
        try await Task.sleep(nanoseconds: 200_000_000)
        let deadURL = "https://127.0.0.1:\(probe.0)/as4"
        let now = Date()
        let first = try await dispatcher.attempt(wire, to: deadURL, recipient: s.receiver.certificate, attempt: 0, now: now)
        guard case .retry(let next, let reason) = first else { return XCTFail("\(first)") }
        XCTAssertEqual(next, now.addingTimeInterval(60))
        XCTAssertEqual(reason.code, "EBMS:0005")
        let due = try await schedule.due(at: now.addingTimeInterval(61))
        XCTAssertEqual(due.map(\.messageId), [wire.messageId])
        // The receiver comes up; the due retry delivers the same message.
        let delivery = CollectingDelivery(served: ["0203:b.se"])
        let (port, server) = try await AS4HTTPSTests.startServer(s, delivery: delivery, duplicates: MemoryDuplicates())
        defer { server.cancel() }
        let url = "https://127.0.0.1:\(port)/as4"
        let second = try await dispatcher.attempt(wire, to: url, recipient: s.receiver.certificate, attempt: 1)
        guard case .delivered(let receipt, _) = second else { return XCTFail("\(second)") }
        XCTAssertEqual(receipt.refToMessageId, wire.messageId)
        let entry = await schedule.entry(wire.messageId)
        XCTAssertNil(entry?.next ?? nil)
        // A resend of the same message: the same receipt, delivered once.
        let third = try await dispatcher.attempt(wire, to: url, recipient: s.receiver.certificate, attempt: 2)
        XCTAssertEqual(third, second)
        let count = await delivery.count()
        XCTAssertEqual(count, 1)
        // Out of retries against a dead endpoint: failed, nothing scheduled.
        let last = try await dispatcher.attempt(wire, to: deadURL, recipient: s.receiver.certificate, attempt: 2)
        guard case .failed(let missing) = last else { return XCTFail("\(last)") }
        XCTAssertEqual(missing.code, "EBMS:0301")
        XCTAssertTrue(missing.detail.contains("EBMS:0005"), missing.detail)
        try await client.shutdown()
    }

    func testSDKAccessPointChecks() throws {
        let xhe = try XHEEnvelope(document: try XMLDocument(bytes: try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")))
        var user = AS4RoundTripTests.sampleUserMessage()
        user.conversationId = xhe.id
        user.action = SDKAS4.messageAction.replacingOccurrences(of: "tm-base-ext-sigenc", with: "tm-base-ext-sigenc")
        user.properties = [.init(name: "originalSender", type: "iso6523-actorid-upis", value: xhe.fromParty),
                           .init(name: "finalRecipient", type: "iso6523-actorid-upis", value: xhe.toParty)]
        XCTAssertNoThrow(try SDKAccessPointChecks.check(user, xhe: xhe))
        func expect(_ change: (inout UserMessage) -> Void, line: UInt = #line) {
            var u = user
            change(&u)
            XCTAssertThrowsError(try SDKAccessPointChecks.check(u, xhe: xhe), line: line) {
                XCTAssertEqual(($0 as? EbMSError)?.code, "EBMS:0003", line: line)
            }
        }
        expect { $0.properties[1].value = "0203:other.se" }
        expect { $0.properties[0].value = "0203:other.se" }
        expect { $0.action = SDKAS4.receiptAction }
        expect { $0.service = "other" }
        expect { $0.conversationId = "another-conversation" }
    }
}
