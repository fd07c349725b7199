import CLMDB
import Foundation
import Synchronization
import XCTest
@testable import Ledger

/// Small blobs of the appending process are made durable by the next ledger commit, before the
/// events that reference them; a failed sync fails that commit and every later one. (These are the
/// blob files: the ledgers here keep no blob inline, as for blobs between the inline limit and
/// 1 MiB; `InlineBlobsTests` covers the others.)
final class BlobSyncTests: XCTestCase {
    /// A ledger whose blobs are all files.
    private func openFileBlobLedger(_ path: String, configure: (inout LedgerOptions) -> Void = { _ in }) throws -> Ledger {
        try openLedger(path) { options in
            options.inlineBlobLimit = 0
            configure(&options)
        }
    }

    func testSmallBlobsWaitForTheNextCommitLargeOnesAreSyncedByTheirWriter() async throws {
        let dir = TempDir("blob-sync")
        defer { dir.remove() }
        let ledger = try openFileBlobLedger(dir.sub("l"))
        defer { ledger.close() }
        let sync = try XCTUnwrap(ledger.blobs.sync)
        let small = try ledger.blobs.put(Array("a small receipt".utf8))
        let large = try ledger.blobs.put([UInt8](repeating: 7, count: Int(BlobSync.deferredLimit) + 1))
        // Both readable at once; only the small one waits for the commit.
        XCTAssertEqual(try ledger.blobs.read(small.sha256), Array("a small receipt".utf8))
        XCTAssertEqual(try ledger.blobs.read(large.sha256).count, Int(BlobSync.deferredLimit) + 1)
        XCTAssertEqual(sync.queuedFiles, [ledger.blobs.path(small.sha256)])
        // Putting stored content again queues it again: its first writer's sync may not have run.
        _ = try ledger.blobs.put(Array("a small receipt".utf8))
        XCTAssertEqual(sync.queuedFiles.count, 2)
        _ = try await ledger.append([draft(1)])
        XCTAssertEqual(sync.queuedFiles, [])
        // A read-only store (no appender) syncs each blob itself.
        XCTAssertNil(BlobStore(directory: dir.sub("other")).sync)
    }

    func testAFailedSyncFailsTheCommitAndEveryLaterOne() async throws {
        let dir = TempDir("blob-sync-fail")
        defer { dir.remove() }
        // The disk reports a lost write-back for the first flush only; the ledger must not trust
        // later ones either.
        let failing = Mutex(true)
        let ledger = try openFileBlobLedger(dir.sub("l")) { options in
            options.syncBlobs = { fd in
                if failing.withLock({ $0 }) { errno = EIO; return -1 }
                return kvitto_syncfs(fd)
            }
        }
        defer { ledger.close() }
        _ = try await ledger.append([draft(1)])  // nothing queued: no flush
        _ = try ledger.blobs.put(Array("evidence".utf8))
        await assertAppendFails(ledger, draft(2), "the append referencing an unsynced blob was acknowledged", saying: "blob.io_error")
        failing.withLock { $0 = false }
        _ = try ledger.blobs.put(Array("more evidence".utf8))
        await assertAppendFails(ledger, draft(3), "appends went on after a failed blob sync",
                                saying: "refuses appends until the node is restarted")
        XCTAssertEqual(try ledger.head().seq, 2)
    }

    func testABlobDirectoryThatCannotBeOpenedFailsOnlyThatCommit() async throws {
        let dir = TempDir("blob-sync-open")
        defer { dir.remove() }
        let ledger = try openFileBlobLedger(dir.sub("l"))
        defer { ledger.close() }
        _ = try ledger.blobs.put(Array("evidence".utf8))
        let blobs = dir.sub("l") + "/blobs"
        try FileManager.default.moveItem(atPath: blobs, toPath: blobs + ".away")
        await assertAppendFails(ledger, draft(1), "acknowledged without making the blob durable", saying: "cannot open the blob directory")
        try FileManager.default.moveItem(atPath: blobs + ".away", toPath: blobs)
        // The blob stayed queued; the next commit makes it durable and succeeds.
        XCTAssertEqual(ledger.blobs.sync?.queuedFiles.count, 1)
        _ = try await ledger.append([draft(2)])
        XCTAssertEqual(ledger.blobs.sync?.queuedFiles, [])
    }

    /// Writing stored content again never swaps the durable file for an unsynced copy; a damaged
    /// copy (a machine that stopped before the sync) is replaced, synced.
    func testAStoredBlobIsNotReplacedByAnUnsyncedCopy() async throws {
        let dir = TempDir("blob-sync-keep")
        defer { dir.remove() }
        let ledger = try openFileBlobLedger(dir.sub("l"))
        defer { ledger.close() }
        let bytes = Array("a Meddelandekvittens sent twice".utf8)
        let ref = try ledger.blobs.put(bytes)
        _ = try await ledger.append([draft(1)])
        let path = ledger.blobs.path(ref.sha256)
        func inode() throws -> UInt64 { (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0 }
        let stored = try inode()
        func streamAgain(_ content: [UInt8]) throws -> BlobRef {
            let writer = try ledger.blobs.makeWriter()
            try writer.write(content)
            return try writer.finish()
        }
        XCTAssertEqual(try streamAgain(bytes), ref)
        XCTAssertEqual(try inode(), stored, "the stored file was replaced")
        XCTAssertEqual(ledger.blobs.sync?.queuedFiles, [path])
        // Damaged in place (right name and size, other bytes): the next write replaces it.
        try Data(repeating: 0, count: bytes.count).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try streamAgain(bytes), ref)
        XCTAssertEqual(try ledger.blobs.read(ref.sha256), bytes)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.sub("l") + "/blobs/tmp"), [])
    }

    func testStoredContentThatDiffersIsRewritten() throws {
        let dir = TempDir("blob-rewrite")
        defer { dir.remove() }
        let store = BlobStore(directory: dir.sub("blobs"))
        let bytes = Array("the content of a receipt".utf8)
        let ref = try store.put(bytes)
        // What a machine stopping before the sync can leave: the right name and size, other bytes.
        try Data(repeating: 0, count: bytes.count).write(to: URL(fileURLWithPath: store.path(ref.sha256)))
        XCTAssertThrowsError(try store.read(ref.sha256))
        XCTAssertEqual(try store.put(bytes), ref)
        XCTAssertEqual(try store.read(ref.sha256), bytes)
    }

    /// Appending `event` must fail with an error whose text contains `text`.
    private func assertAppendFails(_ ledger: Ledger, _ event: EventDraft, _ failure: String, saying text: String,
                                   line: UInt = #line) async {
        do {
            _ = try await ledger.append([event])
            XCTFail(failure, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(text), "\(error)", line: line)
        }
    }
}
