import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// Acceptance: 64 concurrent appenders with readers and live subscribers: no duplicate or missing
/// seq, and every subscriber sees every event exactly once, in order.
final class ConcurrencyTests: XCTestCase {
    func testSixtyFourAppendersReadersAndSubscribers() async throws {
        let dir = TempDir("concurrency")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.checkpointEvery = 500 }
        defer { ledger.close() }
        let writers = 64
        let rounds = 20
        let perAppend = 3
        let total = writers * rounds * perAppend
        let startHead = try ledger.head().seq

        // Subscribers from the start, and one from the middle of the existing log.
        let subscribers = (0..<4).map { n in
            Task { () -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in ledger.subscribe(from: startHead + 1, pageSize: 50 + n * 37) {
                    seen.append(e.seq)
                    if e.type == "message.submitted" && e.payload["last"] == .bool(true) { break }
                }
                return seen
            }
        }
        let stopReaders = StopFlag()
        let readers = (0..<4).map { _ in
            Task { () -> Int in
                var reads = 0
                while !stopReaders.isSet && reads < 100_000 {
                    let head = try ledger.head().seq
                    if let e = try ledger.event(UInt64.random(in: 1...max(1, head))) { XCTAssertTrue(e.seq >= 1) }
                    let page = try ledger.events(from: max(1, head > 20 ? head - 20 : 1), limit: 20)
                    for (a, b) in zip(page, page.dropFirst()) { XCTAssertTrue(b.seq == a.seq + 1 && b.prev == a.hash) }
                    reads += 1
                    await Task.yield()
                }
                return reads
            }
        }
        let appended = try await withThrowingTaskGroup(of: [Event].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var mine: [Event] = []
                    for r in 0..<rounds {
                        mine += try await ledger.append((0..<perAppend).map { draft(w * 10_000 + r * perAppend + $0) })
                    }
                    return mine
                }
            }
            var all: [Event] = []
            for try await part in group {
                // Each append's events are consecutive.
                for chunk in stride(from: 0, to: part.count, by: perAppend) {
                    let seqs = part[chunk..<chunk + perAppend].map(\.seq)
                    XCTAssertTrue(seqs == Array(seqs[0]..<seqs[0] + UInt64(perAppend)))
                }
                all += part
            }
            return all
        }
        let last = try await ledger.append(EventDraft(type: "message.submitted", subject: "end", actor: "t", payload: ["last": true]))
        stopReaders.set()
        for r in readers {
            let reads = try await r.value
            XCTAssertTrue(reads > 0)
        }

        let seqs = appended.map(\.seq)
        XCTAssertTrue(Set(seqs).count == total, "duplicate seqs")
        let stored = try ledger.events(from: startHead + 1, limit: total * 2)
        XCTAssertTrue(stored.map(\.seq) == Array((startHead + 1)...last.seq), "not dense")
        let ours = Set(seqs)
        XCTAssertTrue(stored.filter { $0.type == "message.submitted" && $0.subject != "end" }.count == total)
        XCTAssertTrue(ours.isSubset(of: Set(stored.map(\.seq))))
        for s in subscribers {
            let seen = try await s.value
            XCTAssertTrue(seen == Array((startHead + 1)...last.seq), "a subscriber missed or repeated events")
        }
        ledger.close()
        XCTAssertTrue(try verify(dir.path).ok)
    }
}

final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
