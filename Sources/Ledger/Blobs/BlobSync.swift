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
/// again after the restart is compared with what the disk holds and rewritten if it differs. (Linux
/// reports write-back errors through `syncfs` since 5.8, to descriptors opened before them: the
/// directory is opened once and kept.) A new blob never replaces a stored one before it is synced.
final class BlobSync: Sendable {
    /// Blobs larger than this are synced by their writer, in line (a large flush would hold up
    /// every other append's commit).
    static let deferredLimit: Int64 = 1 << 20

    private struct State {
        var files: [String] = []
        var failure: LedgerError?
        /// The blob store's directory, opened at the first flush and kept: `syncfs` reports the
        /// write-back errors that happened since its descriptor was opened.
        var directory: Int32 = -1
    }

    private let state = Mutex(State())
    private let path: String
    private let syncfs: @Sendable (Int32) -> Int32

    /// For the blob store in `directory`; `syncfs` makes a file system's written data durable.
    init(directory: String, syncfs: @escaping @Sendable (Int32) -> Int32 = { kvitto_syncfs($0) }) {
        self.path = directory
        self.syncfs = syncfs
    }

    deinit {
        state.withLock { if $0.directory >= 0 { close($0.directory) } }
    }

    /// Queues a blob file, already at its final path.
    func add(file: String) {
        state.withLock { $0.files.append(file) }
    }

    /// Files waiting for the next commit.
    var queuedFiles: [String] { state.withLock { $0.files } }

    /// Makes every queued blob durable; throws when that fails (and from then on).
    func flush() throws(LedgerError) {
        // Only the committer thread flushes; the lock guards against `add` and `deinit`.
        let (files, directory): ([String], Int32) = try state.withLock { (s) throws(LedgerError) in
            if let failure = s.failure { throw failure }
            guard !s.files.isEmpty else { return ([], -1) }
            if s.directory < 0 {
                s.directory = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                // Not yet open (too many open files?): this commit fails, the blobs stay queued.
                guard s.directory >= 0 else {
                    throw LedgerError(.blobIO, "cannot open the blob directory \(path) to make blobs durable (errno \(errno)); nothing was written — try again")
                }
            }
            defer { s.files.removeAll(keepingCapacity: true) }
            return (s.files, s.directory)
        }
        guard !files.isEmpty else { return }
        guard syncfs(directory) == 0 else {
            let failure = LedgerError(.blobIO,
                "making \(files.count) blobs durable failed (errno \(errno)); the ledger refuses appends until the node is restarted — check the disk")
            state.withLock { $0.failure = failure }
            throw failure
        }
    }
}
