import Foundation
import XCTest
@testable import Ledger

/// Small blobs of the appending process are made durable by the next ledger commit, before the
/// events that reference them; a failed sync fails that commit and every later one.
final class BlobSyncTests: XCTestCase {
    func testSmallBlobsWaitForTheNextCommitLargeOnesAreSyncedByTheirWriter() async throws {
        let dir = TempDir("blob-sync")
        defer { dir.remove() }
        let ledger = try openLedger(dir.sub("l"))
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
        let ledger = try openLedger(dir.sub("l"))
        defer { ledger.close() }
        let ref = try ledger.blobs.put(Array("evidence".utf8))
        // The blob's directory is replaced by a file: the sync cannot reach the blob, as when the
        // disk fails it; the commit must not be acknowledged.
        let path = ledger.blobs.path(ref.sha256)
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.moveItem(atPath: directory, toPath: directory + ".moved")
        FileManager.default.createFile(atPath: directory, contents: Data([1]))
        do {
            _ = try await ledger.append([draft(1)])
            XCTFail("the append referencing an unsynced blob was acknowledged")
        } catch {
            XCTAssertTrue("\(error)".contains("blob.io_error"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.moveItem(atPath: directory + ".moved", toPath: directory)
        do {
            _ = try await ledger.append([draft(2)])
            XCTFail("appends went on after a failed blob sync")
        } catch {
            XCTAssertTrue("\(error)".contains("refuses appends until the node is restarted"), "\(error)")
        }
        XCTAssertEqual(try ledger.head().seq, 1)
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
}
