import Ledger
import Node
import Projections
import Synchronization
import XCTest

/// The coalescing rule of `access.denied`: one event per actor and reason per window, the count
/// of the others carried by the next one or by the flush.
final class AccessDenialsTests: XCTestCase {
    final class Clock: Sendable {
        let now = Mutex<Int64>(0)
        func advance(seconds: Int64) { now.withLock { $0 += seconds * 1_000_000_000 } }
    }

    func testRefusalsAreCoalescedPerActorAndReason() async throws {
        let clock = Clock()
        let written = Mutex<[EventDraft]>([])
        let denials = AccessDenials(window: .seconds(60), clock: { Timestamp(nanoseconds: clock.now.withLock { $0 }) },
                                    append: { drafts in written.withLock { $0 += drafts } })
        let mallory = Principal(name: PrincipalName(kind: .pnr, value: "199001011234"), strongAuthentication: true, interface: .api)
        let eve = Principal(name: PrincipalName(kind: .pnr, value: "199002021234"), strongAuthentication: true, interface: .api)
        let probe = AccessDenial(reason: .notVisible, resource: "message:x", action: "metadata")
        var recorded = 0
        for _ in 0..<1000 { if try await denials.record(probe, by: mallory) { recorded += 1 } }
        XCTAssertEqual(recorded, 1, "a thousand refusals in one window: one event")
        let otherReason = try await denials.record(AccessDenial(reason: .noReadGrant, resource: "message:x", action: "read_content"), by: mallory)
        XCTAssertTrue(otherReason, "another reason is recorded on its own")
        let otherActor = try await denials.record(probe, by: eve)
        XCTAssertTrue(otherActor, "another actor is recorded on its own")
        clock.advance(seconds: 61)
        let afterWindow = try await denials.record(probe, by: mallory)
        XCTAssertTrue(afterWindow)
        let events = written.withLock { $0 }
        XCTAssertEqual(events.count, 4)
        XCTAssertEqual(events.last?.payload["coalesced"]?.intValue, 999, "the next event carries the refusals not recorded")
        XCTAssertEqual(events.last?.type, AccessEventType.denied)
        XCTAssertEqual(events.last?.actor, "pnr:199001011234")
        // Refusals counted at shutdown are flushed: every refusal is accounted for.
        for _ in 0..<5 { try await denials.record(probe, by: mallory) }
        try await denials.flush()
        let all = written.withLock { $0 }.filter { $0.actor == "pnr:199001011234" && $0.payload["reason"]?.stringValue == "not_visible" }
        XCTAssertEqual(all.reduce(0) { $0 + 1 + Int($1.payload["coalesced"]?.intValue ?? 0) }, 1006)
        try await denials.flush()
        XCTAssertEqual(written.withLock { $0 }.count, 5, "nothing left to flush")
    }

    func testAFailedAppendKeepsTheCount() async throws {
        let fail = Mutex(true)
        let written = Mutex<[EventDraft]>([])
        let denials = AccessDenials(append: { drafts in
            if fail.withLock({ $0 }) { throw NodeError(.storage, "disk full") }
            written.withLock { $0 += drafts }
        })
        let p = Principal(name: PrincipalName(kind: .os, value: "anna"), strongAuthentication: true, interface: .cli)
        let d = AccessDenial(reason: .noManageGrant, resource: "node", action: "grant")
        do { try await denials.record(d, by: p); XCTFail("the failed append is reported") } catch {}
        fail.withLock { $0 = false }
        let recorded = try await denials.record(d, by: p)
        XCTAssertTrue(recorded)
        XCTAssertEqual(written.withLock { $0 }.first?.payload["coalesced"]?.intValue, 1, "the unrecorded refusal is counted in the next event")
    }
}
