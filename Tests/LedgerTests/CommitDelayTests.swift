import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// ``LedgerOptions/commitDelay``: under concurrent appends a commit waits for others to join it;
/// a caller appending alone does not wait, and closing never waits.
final class CommitDelayTests: XCTestCase {
    /// Holds the first commit back until released, so that appends made meanwhile queue behind it.
    final class FirstCommitGate: Sendable {
        private let state = Mutex((started: false, released: false, passed: false))

        /// The `beforeCommit` hook: the first commit waits (at most 10 s) for ``release()``.
        func hook(_: Int) {
            let first = state.withLock { s -> Bool in
                guard !s.passed else { return false }
                s.passed = true
                s.started = true
                return true
            }
            guard first else { return }
            for _ in 0..<1000 where !state.withLock({ $0.released }) { Thread.sleep(forTimeInterval: 0.01) }
        }

        /// Waits (at most 10 s) until the first commit is held.
        func waitUntilHeld() async throws {
            for _ in 0..<1000 where !state.withLock({ $0.started }) { try await Task.sleep(nanoseconds: 10_000_000) }
            XCTAssertTrue(state.withLock { $0.started }, "the first commit never started")
        }

        func release() { state.withLock { $0.released = true } }

        /// Appends `first` and holds its commit; appends each of `queued` behind it (their own
        /// tasks), gives them 100 ms to reach the writer, and releases the held commit. Returns
        /// the tasks without awaiting them.
        func holdFirstCommit(of ledger: Ledger, first: EventDraft, thenQueue queued: [[EventDraft]]) async throws
            -> (held: Task<[Event], any Error>, queued: [Task<[Event], any Error>])
        {
            let held = Task { try await ledger.append([first]) }
            try await waitUntilHeld()
            let behind = queued.map { drafts in Task { try await ledger.append(drafts) } }
            try await Task.sleep(nanoseconds: 100_000_000)
            release()
            return (held, behind)
        }
    }

    func testALoneAppenderDoesNotWait() async throws {
        let dir = TempDir("delay-lone")
        defer { dir.remove() }
        // Were a lone append to wait, each would take a second.
        let ledger = try openLedger(dir.path) { $0.commitDelay = 1 }
        defer { ledger.close() }
        for i in 0..<20 { _ = try await ledger.append(draft(i)) }
        let s = ledger.commitStatistics
        XCTAssertEqual(s.delayed, 0, "\(s)")
        XCTAssertGreaterThanOrEqual(s.transactions, 20, "every sequential append is its own commit")
    }

    func testTheFirstLoneAppendAfterABurstWaitsAndTheNextDoesNot() async throws {
        let dir = TempDir("delay-burst")
        defer { dir.remove() }
        let gate = FirstCommitGate()
        let ledger = try openLedger(dir.path) {
            $0.commitDelay = 0.3
            $0.beforeCommit = { gate.hook($0) }
        }
        defer { ledger.close() }
        // Two appends queue behind the held commit and are committed together: a burst.
        let (held, queued) = try await gate.holdFirstCommit(of: ledger, first: draft(0), thenQueue: [[draft(1)], [draft(2)]])
        _ = try await held.value
        for task in queued { _ = try await task.value }
        let afterBurst = ledger.commitStatistics.delayed
        // Right after the burst, a lone append may wait for company; the one after it may not.
        _ = try await ledger.append(draft(3))
        XCTAssertEqual(ledger.commitStatistics.delayed, afterBurst + 1, "the append right after the burst did not wait")
        _ = try await ledger.append(draft(4))
        XCTAssertEqual(ledger.commitStatistics.delayed, afterBurst + 1, "a lone append after a lone append waited")
    }

    func testConcurrentAppendsArrivingApartShareCommits() async throws {
        let dir = TempDir("delay-share")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.commitDelay = 0.1 }
        var closed = false
        defer { if !closed { ledger.close() } }
        let before = ledger.commitStatistics
        // Eight callers, each appending ten times with a pause between: appends arrive one at a
        // time, so without the delay nearly each would be a commit of its own.
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for w in 0..<8 {
                group.addTask {
                    var mine: [UInt64] = []
                    for i in 0..<10 {
                        try await Task.sleep(nanoseconds: UInt64.random(in: 0...3_000_000))
                        mine.append(try await ledger.append(draft(w * 100 + i)).seq)
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await s in group { all += s }
            return all
        }
        let after = ledger.commitStatistics
        ledger.close()
        closed = true
        XCTAssertEqual(Set(seqs).count, 80, "every append has its own seq")
        let transactions = after.transactions - before.transactions
        XCTAssertGreaterThan(after.delayed, 0, "\(after)")
        XCTAssertLessThanOrEqual(transactions, 40, "80 appends in \(transactions) commits")
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertEqual(report.events, 81)
    }

    func testClosingCommitsAWaitingBatchAtOnce() async throws {
        let dir = TempDir("delay-close")
        defer { dir.remove() }
        let gate = FirstCommitGate()
        let ledger = try openLedger(dir.path) {
            $0.commitDelay = 1
            $0.beforeCommit = { gate.hook($0) }
        }
        let (held, queued) = try await gate.holdFirstCommit(of: ledger, first: draft(0), thenQueue: [[draft(1)], [draft(2)]])
        _ = try await held.value
        // The next commit found company and waits up to a second; closing must end the wait.
        try await Task.sleep(nanoseconds: 100_000_000)
        let start = Date()
        ledger.close()
        let closed = Date().timeIntervalSince(start)
        var appended: [Event] = []
        for task in queued { appended += try await task.value }
        XCTAssertEqual(appended.count, 2)
        XCTAssertLessThan(closed, 0.5, "close waited for the commit delay")
        XCTAssertEqual(ledger.commitStatistics.delayed, 1)
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertEqual(report.events, 4)
    }

    func testAFullBatchDoesNotWait() async throws {
        let dir = TempDir("delay-full")
        defer { dir.remove() }
        let gate = FirstCommitGate()
        let ledger = try openLedger(dir.path) {
            $0.commitDelay = 1
            $0.maxBatchEvents = 4
            $0.beforeCommit = { gate.hook($0) }
        }
        defer { ledger.close() }
        // Two appends of four events each queue behind the held commit: the next commit has
        // company but a full batch ready, so it does not wait.
        let (held, queued) = try await gate.holdFirstCommit(of: ledger, first: draft(0),
                                                            thenQueue: [(1...4).map { draft($0) }, (5...8).map { draft($0) }])
        _ = try await held.value
        let start = Date()
        var appended: [Event] = []
        for task in queued { appended += try await task.value }
        XCTAssertEqual(appended.count, 8)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5, "a full batch waited for the commit delay")
        XCTAssertEqual(ledger.commitStatistics.delayed, 0)
    }

    func testOptionsOutOfRangeAreRefused() throws {
        let dir = TempDir("delay-options")
        defer { dir.remove() }
        for bad in [-0.001, 1.5, .infinity, .nan] {
            XCTAssertThrowsError(try openLedger(dir.path) { $0.commitDelay = bad }) { e in
                XCTAssertEqual((e as? LedgerError)?.code, .invalidOptions, "\(bad): \(e)")
            }
        }
        XCTAssertThrowsError(try openLedger(dir.path) { $0.checkpointInterval = .infinity }) { e in
            XCTAssertEqual((e as? LedgerError)?.code, .invalidOptions, "\(e)")
        }
    }
}
