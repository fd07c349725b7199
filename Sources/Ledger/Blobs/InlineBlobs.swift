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
///
/// A row is `length (4 bytes, big-endian) ‖ content ‖ zeros`, long enough for at least two
/// pages, so LMDB keeps every row in overflow pages of its own: a leaf page holds only the row's
/// page number (rewriting a leaf, as every insert near it does, never copies content), and the
/// row's write buffer is freed after its commit rather than kept for reuse (LMDB keeps one-page
/// buffers and writes later pages from them without clearing their slack).
///
/// Erasure is part of the commit too: the commit holding a `blob.erased` event deletes the row
/// it names in the same transaction (so no copy of the ledger has the event without the
/// deletion), and right after that commit — before the next write transaction could reuse them —
/// the bytes the row held are overwritten with zeros in the data file, so they do not stay in
/// LMDB's freed pages.
final class InlineBlobs: Sendable {
    private let env: LMDBEnvironment
    /// The `blobs` database; nil until it exists (a read-only open of a ledger no writer of this
    /// version has opened yet looks for it again at each miss).
    private let database: Mutex<LMDBDatabase?>
    /// Blobs put since the last commit, by hash.
    private let waiting = Mutex<[Digest32: [UInt8]]>([:])
    /// Erased rows whose bytes could not be overwritten, with the reason.
    private let unscrubbed = Mutex<[Digest32: String]>([:])
    /// The ledger's `meta` holds a scrub record the next commit must clear.
    private let scrubRecorded = Mutex(false)
    /// The largest blob kept inline; 0 when this process does not append (it only reads).
    let limit: Int

    static let databaseName = "blobs"

    /// The shortest row: longer than the largest value LMDB keeps inside a leaf page.
    let minimumRow: Int

    init(env: LMDBEnvironment, database: LMDBDatabase?, limit: Int) {
        self.env = env
        self.database = Mutex(database)
        self.limit = limit
        // 16 bytes of page header + a row of pageSize − 15 bytes: two pages.
        self.minimumRow = max(env.info.pageSize, 4096) - 15
    }

    /// The row that stores `content`.
    func encode(_ content: [UInt8]) -> [UInt8] {
        var row = [UInt8]()
        row.reserveCapacity(max(minimumRow, content.count + 4))
        let n = UInt32(content.count)
        row += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
        row += content
        if row.count < minimumRow { row += [UInt8](repeating: 0, count: minimumRow - row.count) }
        return row
    }

    /// The content length a row records; a row too short for it counts with its own length (its
    /// content then fails the hash check).
    static func contentLength(_ row: UnsafeRawBufferPointer) -> Int {
        guard row.count >= 4 else { return row.count }
        let n = Int(row[0]) << 24 | Int(row[1]) << 16 | Int(row[2]) << 8 | Int(row[3])
        return n <= row.count - 4 ? n : row.count
    }

    /// The content of a row (the whole row when its length is damaged: it fails the hash check).
    static func decode(_ row: [UInt8]) -> [UInt8] {
        let n = row.withUnsafeBytes { contentLength($0) }
        return n == row.count ? row : Array(row[4..<(4 + n)])
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
                try hash.withBytes { key in try txn.withValue(db, key) { v in size = v.map { Int64(Self.contentLength($0)) } } }
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
            return try env.read { txn in try txn.get(db, hash.bytes) }.map(Self.decode)
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
        for b in blobs { try txn.put(db, b.hash.bytes, encode(b.bytes), what: "blobs, \(b.hash)") }
    }

    // MARK: erasure, by the committer

    /// The blobs the `blob.erased` events of `batches` name.
    static func erasures(in batches: [PreparedBatch]) -> Set<Digest32> {
        var out: Set<Digest32> = []
        for batch in batches {
            for e in batch.events {
                if let hash = BlobReferences.erased(type: e.type, payload: e.payload) { out.insert(hash) }
            }
        }
        return out
    }

    /// The rows of `hashes` that exist and where their bytes lie in the data file (nil: unknown).
    /// Called first in the committer's transaction, before it writes anything.
    func locate(_ hashes: Set<Digest32>, in txn: LMDBTransaction) throws -> [(hash: Digest32, range: Range<Int>?)] {
        guard !hashes.isEmpty, let db = try resolved() else { return [] }
        var out: [(hash: Digest32, range: Range<Int>?)] = []
        for hash in hashes {
            switch try env.overflowPlace(of: db, hash.bytes, in: txn) {
            case .absent: continue
            case .bytes(let range): out.append((hash, range))
            case .unknown: out.append((hash, nil))
            }
        }
        return out
    }

    /// Deletes the rows of `hashes` in the committer's transaction.
    func delete(_ hashes: [Digest32], in txn: LMDBTransaction) throws {
        guard !hashes.isEmpty, let db = try resolved() else { return }
        for hash in hashes { _ = try txn.delete(db, hash.bytes) }
    }

    /// In the committer's transaction, after ``delete(_:in:)``: records where the deleted rows
    /// lay, with the commit's head seq, so that a stop before ``scrub(_:)`` is repaired when the
    /// ledger is next opened for appending (``repairScrub(store:head:)``); or clears the record
    /// the previous commit left (its scrub has run: the committer scrubs before its next commit).
    func recordScrub(_ rows: [(hash: Digest32, range: Range<Int>?)], headSeq: UInt64, in txn: LMDBTransaction,
        meta: LMDBDatabase) throws
    {
        let ranges = rows.compactMap(\.range)
        if !ranges.isEmpty {
            var record = LedgerStore.seqKey(headSeq)
            for r in ranges { record += LedgerStore.seqKey(UInt64(r.lowerBound)) + LedgerStore.seqKey(UInt64(r.upperBound)) }
            try txn.put(meta, LedgerStore.metaScrub, record)
        } else if scrubRecorded.withLock({ $0 }) {
            _ = try txn.delete(meta, LedgerStore.metaScrub)
        }
    }

    /// At an open for appending, before the first commit: overwrites the bytes a commit deleted
    /// when the process stopped before it could (the record names the ledger's head: no commit
    /// since, so no write reused those pages). A stale record is cleared by the next commit.
    func repairScrub(store: LedgerStore, head: UInt64) throws(LedgerError) {
        let record: [UInt8]?
        do { record = try store.env.read { try $0.get(store.meta, LedgerStore.metaScrub) } } catch {
            throw LedgerError.storage(error, "reading the ledger's pending erasures")
        }
        guard let record else { return }
        scrubRecorded.withLock { $0 = true }
        // The record is whole 8-byte words (checked first): the head, then lower and upper bounds.
        func word(_ at: Int) -> UInt64 { LedgerStore.seq(fromKey: Array(record[at..<(at + 8)])) ?? 0 }
        guard record.count >= 8, (record.count - 8) % 16 == 0, word(0) == head else { return }
        var ranges: [Range<Int>] = []
        var at = 8
        while at < record.count {
            guard let lower = Int(exactly: word(at)), let upper = Int(exactly: word(at + 8)), lower <= upper,
                  upper <= store.env.usedBytes else {
                throw LedgerError(.corrupt, "the ledger's record of erased bytes to overwrite is damaged; run `kvitto ledger verify`")
            }
            ranges.append(lower..<upper)
            at += 16
        }
        do { try env.overwriteWithZeros(ranges) } catch {
            throw LedgerError.storage(error, "overwriting the bytes of blobs erased just before the last stop; check the disk")
        }
    }

    /// After the commit that deleted `rows`: overwrites their former bytes with zeros. What cannot
    /// be overwritten is remembered for ``BlobStore/erase(_:reason:)`` to report.
    func scrub(_ rows: [(hash: Digest32, range: Range<Int>?)]) {
        scrubRecorded.withLock { $0 = rows.contains { $0.range != nil } }
        guard !rows.isEmpty else { return }
        waiting.withLock { w in for r in rows { w[r.hash] = nil } }
        let located = rows.compactMap(\.range)
        var failure: String?
        do { try env.overwriteWithZeros(located) } catch { failure = "\(error)" }
        unscrubbed.withLock { u in
            for r in rows where r.range == nil || failure != nil {
                u[r.hash] = failure ?? "its place in the ledger's file could not be found"
            }
        }
    }

    /// Why the bytes of an erased row could not be overwritten, once; nil when they were.
    func takeScrubFailure(_ hash: Digest32) -> String? {
        unscrubbed.withLock { $0.removeValue(forKey: hash) }
    }

    /// Hashes of every committed blob (for checks and tools); reads the keys only.
    func committedHashes() throws(LedgerError) -> [Digest32] {
        guard let db = try resolved() else { return [] }
        do {
            var out: [Digest32] = []
            try env.read { txn in
                try txn.scanInPlace(db, from: nil) { k, _ in
                    if let d = Digest32(bytes: Array(k)) { out.append(d) }
                    return true
                }
            }
            return out
        } catch {
            throw LedgerError.storage(error, "reading the ledger's blob table")
        }
    }
}
