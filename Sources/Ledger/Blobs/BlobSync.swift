import CLMDB
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Small blobs written since the last ledger commit, made durable together by the next one.
///
/// A blob of up to ``deferredLimit`` bytes is written and renamed into place at once (readers in
/// this process see it), but not synced by its writer: the ledger's committer calls ``flush()``
/// before every commit, which syncs the file system holding the blobs once (`syncfs`: their data,
/// their directory entries, one journal commit and one device flush). So every blob put before an
/// append is durable before the event that references it, at one flush per commit shared by every
/// message in it, instead of two blocking flushes per blob on the caller's thread.
///
/// A flush that fails (an I/O error) fails that commit and every later one: the blobs' durability
/// is unknown, so the ledger refuses appends until the node is restarted, and a blob that is put
/// again after the restart is compared with what is stored and rewritten if it differs. (Linux
/// reports write-back errors through `syncfs` since 5.8.)
final class BlobSync: Sendable {
    /// Blobs larger than this are synced by their writer, in line (a large flush would hold up
    /// every other append's commit).
    static let deferredLimit: Int64 = 1 << 20

    private struct State {
        var files: [String] = []
        var failure: LedgerError?
    }

    private let state = Mutex(State())

    /// Queues a blob file, already at its final path.
    func add(file: String) {
        state.withLock { $0.files.append(file) }
    }

    /// Files waiting for the next commit.
    var queuedFiles: [String] { state.withLock { $0.files } }

    /// Makes every queued blob durable; throws when that fails (and from then on).
    func flush() throws(LedgerError) {
        let files: [String] = try state.withLock { (s) throws(LedgerError) in
            if let failure = s.failure { throw failure }
            defer { s.files.removeAll(keepingCapacity: true) }
            return s.files
        }
        guard let first = files.first else { return }
        // The directory of a blob just written; if it cannot be opened, the blob's fate is unknown.
        let fd = Glibc.open((first as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let synced = fd >= 0 && kvitto_syncfs(fd) == 0
        let code = errno
        if fd >= 0 { close(fd) }
        if !synced {
            let failure = LedgerError(.blobIO,
                "making \(files.count) blobs durable failed (errno \(code)); the ledger refuses appends until the node is restarted — check the disk")
            state.withLock { $0.failure = failure }
            throw failure
        }
    }
}
