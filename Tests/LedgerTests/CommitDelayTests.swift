import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// ``LedgerOptions/commitDelay``: under concurrent appends a commit waits for others to join it;
/// a lone appender never waits, and closing never waits.
final class CommitDelayTests: XCTestCase {
    func testALoneAppenderNeverWaits() async throws {
        let dir = TempDir("delay-lone")
        defer { dir.remove() }
        // Were a lone append to wait, each would take two seconds.
        let ledger = try openLedger(dir.path) { $0.commitDelay = 2 }
        defer { ledger.close() }
        for i in 0..<20 { _ = try await ledger.append(draft(i)) }
        let s = ledger.commitStatistics
        XCTAssertEqual(s.delayed, 0, "\(s)")
        XCTAssertGreaterThanOrEqual(s.transactions, 20, "every sequential append is its own commit")
    }

    func testConcurrentAppendsArrivingApartShareCommits() async throws {
        let dir = TempDir("delay-share")
        defer { dir.remove() }
        let ledger = try openLedger(dir.path) { $0.commitDelay = 0.1 }
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
        let slowFirst = Mutex(true)
        let ledger = try openLedger(dir.path) {
            $0.commitDelay = 60
            // The first commit is slow, so the appends below queue behind it and the next
            // commit finds company: it would wait a minute.
            $0.beforeCommit = { _ in
                if slowFirst.withLock({ let s = $0; $0 = false; return s }) { Thread.sleep(forTimeInterval: 0.2) }
            }
        }
        async let first = ledger.append(draft(0))
        try await Task.sleep(nanoseconds: 50_000_000)
        async let second = ledger.append(draft(1))
        async let third = ledger.append(draft(2))
        _ = try await first
        // The second commit is waiting for company now; closing must end the wait.
        try await Task.sleep(nanoseconds: 300_000_000)
        let start = Date()
        ledger.close()
        let closed = Date().timeIntervalSince(start)
        let appended = [try await second, try await third]
        XCTAssertEqual(appended.count, 2)
        XCTAssertLessThan(closed, 30, "close waited for the commit delay")
        XCTAssertEqual(ledger.commitStatistics.delayed, 1)
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertEqual(report.events, 4)
    }
}
