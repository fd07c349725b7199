import Foundation
import Synchronization

/// Small blobs kept inside the ledger's LMDB environment (its `blobs` database: SHA-256 → bytes)
/// instead of one file each.
///
/// A blob of up to ``LedgerOptions/inlineBlobLimit`` bytes put by the process that appends to the
/// ledger waits in memory (readable at once by this process) and is written by the ledger's next
/// commit, in the same LMDB transaction as the events of that commit: it is durable exactly when
/// they are, with no file, directory entry or file-system flush of its own. Every event that
/// references it is appended after the put, so its commit (or an earlier one) holds the blob. A
/// commit that fails leaves the waiting blobs waiting for the next one.
///
/// Readers in other processes (`kvitto ledger verify`, export, backup) read the committed rows.
/// Content is checked against its hash on every read, as for a blob file.
final class InlineBlobs: Sendable {
    private let env: LMDBEnvironment
    /// The `blobs` database; nil until it exists (a read-only open of a ledger no writer of this
    /// version has opened yet looks for it again at each miss).
    private let database: Mutex<LMDBDatabase?>
    /// Blobs put since the last commit, by hash.
    private let waiting = Mutex<[Digest32: [UInt8]]>([:])
    /// The largest blob kept inline; 0 when this process does not append (it only reads).
    let limit: Int

    static let databaseName = "blobs"

    init(env: LMDBEnvironment, database: LMDBDatabase?, limit: Int) {
        self.env = env
        self.database = Mutex(database)
        self.limit = limit
    }

    /// The database, opened now if another process created it since.
    private func resolved() throws(LedgerError) -> LMDBDatabase? {
        try database.withLock { (db) throws(LedgerError) -> LMDBDatabase? in
            if let db { return db }
            do {
                db = try env.openDatabase(Self.databaseName, create: false)
            } catch let e as LMDBError where e.isNotFound {
                return nil
            } catch {
                throw LedgerError.storage(error, "opening the ledger's blob table")
            }
            return db
        }
    }

    /// Queues `bytes` (of `hash`) for the next commit.
    func queue(_ hash: Digest32, _ bytes: [UInt8]) {
        waiting.withLock { $0[hash] = bytes }
    }

    /// The size of the blob, waiting or committed; nil when neither holds it.
    func size(of hash: Digest32) throws(LedgerError) -> Int64? {
        if let b = waiting.withLock({ $0[hash] }) { return Int64(b.count) }
        guard let db = try resolved() else { return nil }
        do {
            var size: Int64?
            try env.read { txn in
                try hash.withBytes { key in try txn.withValue(db, key) { v in size = v.map { Int64($0.count) } } }
            }
            return size
        } catch {
            throw LedgerError.storage(error, "reading the ledger's blob table")
        }
    }

    /// The stored bytes (not yet checked against the hash), or nil.
    func bytes(of hash: Digest32) throws(LedgerError) -> [UInt8]? {
        if let b = waiting.withLock({ $0[hash] }) { return b }
        guard let db = try resolved() else { return nil }
        do {
            return try env.read { txn in try txn.get(db, hash.bytes) }
        } catch {
            throw LedgerError.storage(error, "reading the ledger's blob table")
        }
    }

    /// The blobs waiting for a commit. The committer writes them with its events and calls
    /// ``committed(_:)`` after the commit; until then they stay readable here.
    func queued() -> [(hash: Digest32, bytes: [UInt8])] {
        waiting.withLock { $0.map { (hash: $0.key, bytes: $0.value) } }
    }

    /// Forgets blobs a commit wrote (readers find them in the database now).
    func committed(_ hashes: [Digest32]) {
        guard !hashes.isEmpty else { return }
        waiting.withLock { w in for h in hashes { w[h] = nil } }
    }

    /// Writes `blobs` in `txn` (the committer's transaction).
    func write(_ blobs: [(hash: Digest32, bytes: [UInt8])], in txn: LMDBTransaction) throws {
        guard !blobs.isEmpty else { return }
        guard let db = try resolved() else {
            throw LedgerError(.storage, "the ledger has no blob table; reopen it for appending")
        }
        for b in blobs { try txn.put(db, b.hash.bytes, b.bytes, what: "blobs, \(b.hash)") }
    }

    /// Removes a committed blob (erasure); true when it was there.
    func remove(_ hash: Digest32) throws(LedgerError) -> Bool {
        waiting.withLock { $0[hash] = nil }
        guard let db = try resolved() else { return false }
        do {
            return try env.write { txn in try txn.delete(db, hash.bytes) }
        } catch {
            throw LedgerError.storage(error, "erasing a blob from the ledger's blob table")
        }
    }

    /// Hashes of every committed blob (for checks and tools).
    func committedHashes() throws(LedgerError) -> [Digest32] {
        guard let db = try resolved() else { return [] }
        do {
            var out: [Digest32] = []
            try env.read { txn in
                try txn.scan(db, from: nil) { k, _ in
                    if let d = Digest32(bytes: k) { out.append(d) }
                    return true
                }
            }
            return out
        } catch {
            throw LedgerError.storage(error, "reading the ledger's blob table")
        }
    }
}
