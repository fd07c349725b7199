import Foundation

/// A durable key-value store with named tables in its own LMDB environment: what the persisted
/// projections keep beside the ledger.
///
/// Transactions are closures: a ``KeyValueReader`` or ``KeyValueWriter`` cannot outlive the
/// closure that received it. A write commits when its closure returns — durably, except in a
/// `derived` store (see ``init(path:tables:initialMapSize:mapSizeLimit:derived:)``) — or stores
/// nothing when it throws; a process killed at any moment leaves the last committed state (LMDB's
/// copy-on-write pages). When the map is full, the write is retried once per doubling of the map,
/// so a write closure must not have effects outside its writer.
package final class KeyValueStore: Sendable {
    private let env: LMDBEnvironment
    private let tables: [String: LMDBDatabase]
    /// The directory holding `data.mdb`.
    package let path: String
    /// The marker of a `derived` store whose commits are not flushed; nil when they are.
    private let unflushed: UnflushedCommits?
    /// True when opening found that the machine had stopped while this `derived` store held
    /// commits not yet on the disk, and started it empty (its content is refolded from the ledger).
    package let discardedAfterMachineStop: Bool

    /// True when each commit is on the disk before `write` returns (false for a `derived` store,
    /// except where the machine's boot id cannot be read).
    package var flushesCommits: Bool { env.commitFlush != .none }

    /// Opens (creating when absent) the store in directory `path` with `tables`.
    ///
    /// A `derived` store (content refolded from the ledger, with the position it reached in the
    /// same transaction) does not flush its commits: the kernel writes them back in its own time,
    /// and the store flushes when it is closed. A killed process loses nothing. A machine that
    /// stops while commits were not yet on the disk may leave the file damaged, so the store is
    /// started empty at the next open and refolded (``UnflushedCommits``,
    /// ``discardedAfterMachineStop``). Where the boot id cannot be read, each commit flushes its
    /// data pages (`MDB_NOMETASYNC`): a machine stop may then undo the last commit only.
    package init(path: String, tables: [String], initialMapSize: Int = 64 << 20, mapSizeLimit: Int = 1 << 40,
                 derived: Bool = false) throws(LedgerError) {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if !fm.fileExists(atPath: path, isDirectory: &isDir) {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            catch { throw LedgerError(.storage, "cannot create \(path): \(error)") }
        } else if !isDir.boolValue {
            throw LedgerError(.storage, "\(path) is a file; a key-value store needs a directory")
        }
        var claim: (claim: UnflushedCommits?, discarded: Bool) = (nil, false)
        if derived {
            let made = try UnflushedCommits.claim(directory: path)
            claim = (made.claim, made.discarded)
        }
        unflushed = claim.claim
        discardedAfterMachineStop = claim.discarded
        do {
            env = try LMDBEnvironment(path: path, initialMapSize: initialMapSize, mapSizeLimit: mapSizeLimit,
                                      maxDatabases: max(8, tables.count + 1), readOnly: false,
                                      flush: derived ? (claim.claim?.marker == nil ? .dataPages : .none) : .full)
            let environment = env
            var opened: [String: LMDBDatabase] = [:]
            try environment.write { txn in
                for t in tables { opened[t] = try txn.openDatabase(t, create: true) }
            }
            self.tables = opened
        } catch {
            claim.claim?.release()
            throw LedgerError.storage(error, "opening the store at \(path)")
        }
    }

    deinit {
        // The marker goes only once everything committed is on the disk.
        if unflushed?.marker != nil, (try? flush()) != nil { unflushed?.release() }
    }

    /// For a process about to end: puts every commit on the disk, flushes each later one, and
    /// removes the marker of a `derived` store, so that the next start after a clean machine
    /// restart does not refold it.
    package func settle() throws(LedgerError) {
        if unflushed?.marker != nil {
            do { try env.flushDataPagesOfEachCommit() } catch { throw LedgerError.storage(error, "settling the store at \(path)") }
        }
        try flush()
        unflushed?.release()
    }

    /// Puts every commit on the disk now. A failure leaves a `derived` store's marker saying so
    /// (the store is refolded at its next open: the disk may lack writes the kernel dropped).
    package func flush() throws(LedgerError) {
        do { try env.flush() } catch {
            unflushed?.poisonAfterFailedFlush()
            let next = unflushed?.marker != nil ? "it is refolded at its next open; " : ""
            throw LedgerError.storage(error, "flushing the store at \(path) (\(next)check the disk)")
        }
    }

    /// Runs `body` on a consistent snapshot.
    package func read<T>(_ body: (KeyValueReader) throws -> T) throws -> T {
        try env.read { txn in try body(KeyValueReader(txn: txn, tables: tables)) }
    }

    /// Runs `body` in one durable transaction (see the type's note on retries).
    package func write<T>(_ body: (KeyValueWriter) throws -> T) throws -> T {
        while true {
            do {
                return try env.write { txn in try body(KeyValueWriter(reader: KeyValueReader(txn: txn, tables: tables))) }
            } catch let e as LMDBError where e.isMapFull {
                guard try env.growAfterMapFull(e) else {
                    throw LedgerError(.storageFull, "the store at \(path) reached its size limit of \(env.mapSizeLimit) bytes")
                }
            }
        }
    }

    /// Writes a compacted, consistent copy of this store to `directory/data.mdb` (see
    /// ``copy(storeAt:to:derived:)``); writers go on meanwhile.
    package func copy(to directory: String) throws(LedgerError) {
        do { try env.copy(to: directory, compact: true) } catch { throw LedgerError.storage(error, "copying the store at \(path)") }
    }

    /// Writes a compacted, consistent copy of the store in `path` — which another process may be
    /// writing — to `directory/data.mdb`, which must not exist yet. Not for a store this process
    /// holds open (use ``copy(to:)`` on it). A `derived` store that a machine stop may have
    /// damaged (see ``UnflushedCommits``) is not copied: returns false.
    @discardableResult
    package static func copy(storeAt path: String, to directory: String, derived: Bool = false) throws(LedgerError) -> Bool {
        func copy() throws { try LMDBEnvironment.openForCopy(at: path).copy(to: directory, compact: true) }
        do {
            if derived {
                return try UnflushedCommits.ifTrusted(directory: path, copy) != nil
            }
            try copy()
            return true
        } catch { throw LedgerError.storage(error, "copying the store at \(path)") }
    }

    /// Bytes of the data file in use.
    package var usedBytes: Int { env.usedBytes }

    /// The memory map's current size in bytes (it grows, doubling, as writes fill it).
    package var mapSize: Int { env.info.mapSize }
}

/// Reads inside one transaction of a ``KeyValueStore``.
package struct KeyValueReader {
    fileprivate let txn: LMDBTransaction
    fileprivate let tables: [String: LMDBDatabase]

    fileprivate func table(_ name: String) throws -> LMDBDatabase {
        guard let db = tables[name] else { throw LedgerError(.storage, "the store has no table \(name)") }
        return db
    }

    /// The value under `key`, or nil.
    package func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]? { try txn.get(self.table(table), key) }

    /// Entries from the first key >= `start` in key order, until `body` returns false.
    package func scan(_ table: String, from start: [UInt8]? = nil, _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try txn.scan(self.table(table), from: start, body)
    }

    /// The value under `key` in place in the map (valid only during the call), or nil.
    package func withValue(_ table: String, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try txn.withValue(self.table(table), key, body)
    }

    /// ``scan(_:from:_:)`` with keys and values in place in the map (valid only during the call).
    package func scanInPlace(_ table: String, from start: [UInt8]?,
                             _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try txn.scanInPlace(self.table(table), from: start, body)
    }

    /// Entries whose key starts with `prefix`, in key order, until `body` returns false.
    package func scan(_ table: String, prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try txn.scan(self.table(table), from: prefix) { k, v in
            guard k.starts(with: prefix) else { return false }
            return try body(k, v)
        }
    }

    /// The number of entries in `table`.
    package func count(_ table: String) throws -> Int { try txn.count(self.table(table)) }
}

/// Reads and writes inside one write transaction of a ``KeyValueStore``.
package struct KeyValueWriter {
    package let reader: KeyValueReader

    package func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]? { try reader.get(table, key) }

    /// Longest key LMDB stores (its compile-time default).
    package static let maxKeyBytes = 511

    /// Stores `value` under `key` (at most ``maxKeyBytes``; hash longer identifiers).
    package func put(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        guard !key.isEmpty, key.count <= Self.maxKeyBytes else {
            throw LedgerError(.invalidDraft, "a key of \(key.count) bytes for table \(table); keys are 1 to \(Self.maxKeyBytes) bytes")
        }
        try reader.txn.put(reader.table(table), key, value)
    }

    /// Stores `value` under `key`, which must sort after every key already in `table` (LMDB's
    /// `MDB_APPEND`: no page search; an out-of-order key is refused with a storage error).
    package func append(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        guard !key.isEmpty, key.count <= Self.maxKeyBytes else {
            throw LedgerError(.invalidDraft, "a key of \(key.count) bytes for table \(table); keys are 1 to \(Self.maxKeyBytes) bytes")
        }
        try reader.txn.put(reader.table(table), key, value, append: true)
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    package func delete(_ table: String, _ key: [UInt8]) throws -> Bool { try reader.txn.delete(reader.table(table), key) }

    /// Deletes every entry of `table`.
    package func clear(_ table: String) throws { try reader.txn.clear(reader.table(table)) }
}
