import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// The committer writes every signed batch waiting for it in one transaction: a slow disk makes
/// commits larger instead of leaving the signer idle, and a failed merged commit fails exactly its
/// batches.
final class GroupCommitTests: XCTestCase {
    /// Counts the commits a ledger starts (the hook runs on the committer's thread).
    final class Commits: Sendable {
        let started = Mutex(0)
        let batches = Mutex<[Int]>([])
    }

    private func appendConcurrently(_ ledger: Ledger, writers: Int, events: Int) async -> [Result<[Event], LedgerError>] {
        await withTaskGroup(of: Result<[Event], LedgerError>.self) { group in
            for w in 0..<writers {
                group.addTask {
                    do throws(LedgerError) {
                        return .success(try await ledger.append((0..<events).map { draft(w * 1000 + $0) }))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all: [Result<[Event], LedgerError>] = []
            for await r in group { all.append(r) }
            return all
        }
    }

    func testSlowCommitsWriteSeveralBatchesInOneTransaction() async throws {
        let dir = TempDir("merge")
        defer { dir.remove() }
        let commits = Commits()
        let ledger = try openLedger(dir.path) {
            $0.maxBatchEvents = 32
            $0.beforeCommit = { batches in
                commits.batches.withLock { $0.append(batches) }
                Thread.sleep(forTimeInterval: 0.05)  // a slow disk
            }
        }
        let before = ledger.commitStatistics
        let results = await appendConcurrently(ledger, writers: 32, events: 16)
        let after = ledger.commitStatistics
        ledger.close()

        let appended = try results.flatMap { try $0.get() }
        XCTAssertEqual(appended.count, 512)
        XCTAssertEqual(Set(appended.map(\.seq)).count, 512, "every event has its own seq")
        // Each writer's events are consecutive and in order.
        for r in results {
            let seqs = try r.get().map(\.seq)
            XCTAssertEqual(seqs, Array(seqs[0]..<seqs[0] + UInt64(seqs.count)))
        }
        // Batches hold at most 32 events; some transaction held several of them.
        XCTAssertTrue(commits.batches.withLock { $0.contains { $0 > 1 } }, "\(commits.batches.withLock { $0 })")
        let events = after.events - before.events
        let transactions = after.transactions - before.transactions
        XCTAssertGreaterThan(Double(events) / Double(transactions), 32, "\(events) events in \(transactions) transactions")
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertEqual(report.events, 513)  // ledger.created + 512
    }

    func testAFailedMergedCommitFailsExactlyItsBatchesAndLosesNothingElse() async throws {
        let dir = TempDir("mergefail")
        defer { dir.remove() }
        struct DiskError: Error {}
        let commits = Commits()
        let ledger = try openLedger(dir.path) {
            $0.maxBatchEvents = 32
            $0.beforeCommit = { batches in
                let n = commits.started.withLock { n in
                    n += 1
                    return n
                }
                commits.batches.withLock { $0.append(batches) }
                if n == 1 { Thread.sleep(forTimeInterval: 0.05) }  // the signer runs ahead meanwhile
                if n == 2 { throw DiskError() }  // the merged commit that follows fails
            }
        }
        let results = await appendConcurrently(ledger, writers: 32, events: 16)
        ledger.close()

        let failedBatches = commits.batches.withLock { $0[1] }
        XCTAssertGreaterThan(failedBatches, 1, "the failing commit should have merged several batches")
        let failures = results.filter { if case .failure = $0 { true } else { false } }
        // The requests of the failed transaction (one or two 16-event requests per batch) got the
        // error...
        XCTAssertTrue((failedBatches...2 * failedBatches).contains(failures.count), "\(failures.count) failed requests")
        for case .failure(let e) in results { XCTAssertEqual(e.code, .storage, "\(e)") }
        // ...and everything else is stored, dense, and verifies.
        let appended = results.compactMap { try? $0.get() }.flatMap { $0 }
        XCTAssertEqual(appended.count, 16 * (32 - failures.count))
        let report = try verify(dir.path)
        XCTAssertTrue(report.ok, "\(String(describing: report.failure))")
        XCTAssertEqual(report.events, UInt64(1 + appended.count))
        let reopened = try openLedger(dir.path, create: false)
        defer { reopened.close() }
        for e in appended { XCTAssertTrue(try reopened.event(e.seq) == e) }
    }
}
