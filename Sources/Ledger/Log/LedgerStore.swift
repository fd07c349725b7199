import Foundation

/// The LMDB layout of a ledger and the reads on it.
///
/// Databases: `meta` (format, ledger id, head, active key), `events` (seq, big-endian → record),
/// `merkle` (post-order position → perfect-subtree hash), `checkpoints` (seq → tree size ‖ root),
/// `blobs` (SHA-256 → content of a small blob, ``InlineBlobs``; created by the first open for
/// appending, so a ledger written before it existed gains it then).
final class LedgerStore: Sendable {
    static let format = "kvitto-ledger/1"
    static let metaFormat: [UInt8] = Array("format".utf8)
    static let metaLedgerID: [UInt8] = Array("ledger_id".utf8)
    static let metaHead: [UInt8] = Array("head".utf8)
    static let metaActiveKey: [UInt8] = Array("active_key".utf8)
    /// Where the rows deleted by the last commit lay, until their bytes are overwritten
    /// (``InlineBlobs``): that commit's head seq, then start and end offsets, 8 bytes each.
    static let metaScrub: [UInt8] = Array("scrub_pending".utf8)

    let env: LMDBEnvironment
    let meta: LMDBDatabase
    let events: LMDBDatabase
    let merkle: LMDBDatabase
    let checkpoints: LMDBDatabase
    /// Nil in a read-only open of a ledger that has no blob table yet.
    let blobs: LMDBDatabase?
    let path: String

    /// Opens the store in `path`, creating the databases when `create` is set.
    init(path: String, options: LedgerOptions, create: Bool) throws(LedgerError) {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let dataFile = path + "/data.mdb"
        if !fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard create else {
                throw LedgerError(.ledgerNotFound, "no ledger at \(path); create one with `kvitto ledger append --ledger \(path)`")
            }
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            catch { throw LedgerError(.storage, "cannot create \(path): \(error)") }
        } else if !isDir.boolValue {
            throw LedgerError(.notALedger, "\(path) is a file, not a ledger directory")
        }
        let hasData = fm.fileExists(atPath: dataFile)
        if !hasData {
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            let foreign = contents.filter { !["keys", "blobs", "lock.mdb"].contains($0) }
            if !foreign.isEmpty {
                throw LedgerError(.notALedger,
                    "\(path) is not a Kvitto ledger (it holds \(foreign.prefix(3).joined(separator: ", "))\(foreign.count > 3 ? ", …" : "")); choose an empty or new directory")
            }
            guard create else {
                throw LedgerError(.ledgerNotFound, "no ledger at \(path); create one with `kvitto ledger append --ledger \(path)`")
            }
        } else {
            // A data file shorter than its own header says would make LMDB read past the end of the
            // mapping (SIGBUS). Check before touching any page.
            try Self.checkNotTruncated(dataFile)
        }
        do {
            env = try LMDBEnvironment(path: path, initialMapSize: options.initialMapSize,
                mapSizeLimit: options.maxMapSize, maxDatabases: 8, readOnly: false)
        } catch let e as LMDBError {
            if e.code == 22 /* EINVAL */ || e.code == -30793 /* MDB_INVALID */ || e.code == -30794 /* MDB_VERSION_MISMATCH */ {
                throw LedgerError(.notALedger, "\(dataFile) is not an LMDB file of a Kvitto ledger (\(e))")
            }
            throw LedgerError.storage(e, "opening \(path)")
        } catch {
            throw LedgerError.storage(error, "opening \(path)")
        }
        let usedBytes = env.usedBytes
        if hasData, let size = (try? fm.attributesOfItem(atPath: dataFile)[.size]) as? Int, size < usedBytes {
            throw LedgerError(.fileTruncated,
                "\(dataFile) is \(size) bytes but its header says \(usedBytes) are in use: the file was truncated; restore it from a backup")
        }
        // An existing environment is a ledger only if it has Kvitto's format record. An environment
        // with no databases at all is what a crash during creation leaves behind: it starts anew.
        let fresh: Bool
        do {
            fresh = try !hasData || env.namedDatabaseCount() == 0
        } catch {
            throw LedgerError.storage(error, "opening \(path)")
        }
        if fresh {
            guard create else {
                throw LedgerError(.ledgerNotFound, "no ledger at \(path); create one with `kvitto ledger append --ledger \(path)`")
            }
            do {
                // All databases and the format record in one transaction: creation is atomic.
                let dbs = try env.write { txn in
                    let dbs = (try txn.openDatabase("meta", create: true), try txn.openDatabase("events", create: true),
                        try txn.openDatabase("merkle", create: true), try txn.openDatabase("checkpoints", create: true),
                        try txn.openDatabase(InlineBlobs.databaseName, create: true))
                    try txn.put(dbs.0, Self.metaFormat, Array(Self.format.utf8))
                    return dbs
                }
                (meta, events, merkle, checkpoints) = (dbs.0, dbs.1, dbs.2, dbs.3)
                blobs = dbs.4
            } catch {
                throw LedgerError.storage(error, "creating the ledger at \(path)")
            }
            return
        }
        do {
            meta = try env.openDatabase("meta", create: false)
            let metaDB = meta
            guard let format = try env.read({ try $0.get(metaDB, Self.metaFormat) }) else {
                throw LedgerError(.notALedger, "\(path) holds an LMDB environment without Kvitto's metadata; it is not a Kvitto ledger")
            }
            let text = String(decoding: format, as: UTF8.self)
            guard text == Self.format else {
                throw LedgerError(.unsupportedFormat, "\(path) has ledger format \"\(text)\"; this build reads \"\(Self.format)\"")
            }
            events = try env.openDatabase("events", create: false)
            merkle = try env.openDatabase("merkle", create: false)
            checkpoints = try env.openDatabase("checkpoints", create: false)
            if options.readOnly {
                do { blobs = try env.openDatabase(InlineBlobs.databaseName, create: false) }
                catch let e as LMDBError where e.isNotFound { blobs = nil }
            } else {
                blobs = try env.openDatabase(InlineBlobs.databaseName, create: true)
            }
        } catch let e as LedgerError {
            throw e
        } catch let e as LMDBError where e.isNotFound {
            throw LedgerError(.notALedger,
                "\(path) holds an LMDB environment without Kvitto's databases; it is not a Kvitto ledger (or it is damaged)")
        } catch {
            throw LedgerError.storage(error, "opening \(path)")
        }
    }

    /// Reads the used-page count from LMDB's two meta pages with plain `pread`, without mapping.
    static func checkNotTruncated(_ dataFile: String) throws(LedgerError) {
        guard let handle = FileHandle(forReadingAtPath: dataFile) else {
            throw LedgerError(.storage, "cannot read \(dataFile); check permissions")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 2 * 65536)) ?? Data()
        let size = (try? handle.seekToEnd()).map(Int.init) ?? 0
        // LMDB meta page layout (lmdb 0.9, 64-bit): page header 16 bytes, then MDB_meta:
        // magic u32 @16, version u32 @20, address @24, mapsize @32, two MDB_db (48 bytes each) @40,
        // last_pg @136, txnid @144. Page size is the OS page size recorded in the free DB's md_pad.
        let bytes = [UInt8](head)
        func u32(_ o: Int) -> UInt32 { o + 4 <= bytes.count ? bytes[o..<o + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } : 0 }
        func u64(_ o: Int) -> UInt64 { o + 8 <= bytes.count ? bytes[o..<o + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } : 0 }
        guard u32(16) == 0xBEEF_C0DE else {
            throw LedgerError(.notALedger, "\(dataFile) is not an LMDB data file")
        }
        let pageSize = Int(u32(40))  // md_pad of the free-list DB holds the page size
        guard pageSize >= 512, pageSize <= 65536 else { return }
        var best: (txn: UInt64, last: UInt64) = (u64(144), u64(136))
        if u32(pageSize + 16) == 0xBEEF_C0DE, u64(pageSize + 144) > best.txn {
            best = (u64(pageSize + 144), u64(pageSize + 136))
        }
        let needed = (Int(best.last) + 1) * pageSize
        if size < needed {
            throw LedgerError(.fileTruncated,
                "\(dataFile) is \(size) bytes but its header says \(needed) are in use: the file was truncated; restore it from a backup")
        }
    }

    static func seqKey(_ seq: UInt64) -> [UInt8] {
        withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }

    static func seq(fromKey key: [UInt8]) -> UInt64? {
        guard key.count == 8 else { return nil }
        return key.reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: head and keys

    struct StoredHead: Equatable {
        var seq: UInt64
        var hash: Digest32
    }

    static func encodeHead(_ h: StoredHead) -> [UInt8] { seqKey(h.seq) + h.hash.bytes }

    func storedHead(_ txn: LMDBTransaction) throws -> StoredHead? {
        guard let v = try txn.get(meta, Self.metaHead), v.count == 40, let seq = Self.seq(fromKey: Array(v[0..<8])) else {
            return nil
        }
        return StoredHead(seq: seq, hash: Digest32(unchecked: Array(v[8..<40])))
    }

    func activeKeyID(_ txn: LMDBTransaction) throws -> String? {
        try txn.get(meta, Self.metaActiveKey).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: events

    /// The event with `seq`, checked against its hash; nil when absent.
    func event(_ txn: LMDBTransaction, seq: UInt64) throws -> Event? {
        guard let record = try txn.get(events, Self.seqKey(seq)) else { return nil }
        return try Self.decodeStored(record, seq: seq)
    }

    static func decodeStored(_ record: [UInt8], seq: UInt64) throws(LedgerError) -> Event {
        do {
            let e = try Event.decode(record: record)
            guard e.seq == seq else {
                throw LedgerError(.corrupt, "the event stored under seq \(seq) says seq \(e.seq); run `kvitto ledger verify`")
            }
            return e
        } catch let e as Event.DecodeError {
            throw LedgerError(.corrupt, "event \(seq) is damaged: \(e); run `kvitto ledger verify`")
        } catch {
            throw LedgerError.storage(error, "reading event \(seq)")
        }
    }

    /// Events `from…` in order, at most `limit`.
    func events(_ txn: LMDBTransaction, from: UInt64, limit: Int) throws -> [Event] {
        var out: [Event] = []
        var expected = from
        try txn.scan(events, from: Self.seqKey(from)) { key, value in
            guard out.count < limit else { return false }
            guard let seq = Self.seq(fromKey: key), seq == expected else {
                throw LedgerError(.corrupt, "event \(expected) is missing from the log; run `kvitto ledger verify`")
            }
            out.append(try Self.decodeStored(value, seq: seq))
            expected += 1
            return true
        }
        return out
    }

    // MARK: Merkle nodes and checkpoints

    func merkleNode(_ txn: LMDBTransaction, level: Int, index: UInt64) throws -> Digest32 {
        let pos = MerkleHash.postOrderPosition(level: level, index: index)
        guard let v = try txn.get(merkle, Self.seqKey(pos)), let d = Digest32(bytes: v) else {
            throw LedgerError(.corrupt, "Merkle node (level \(level), index \(index)) is missing; run `kvitto ledger verify`")
        }
        return d
    }

    func latestCheckpoint(_ txn: LMDBTransaction) throws -> Checkpoint? {
        guard let (k, _) = try txn.last(checkpoints), let seq = Self.seq(fromKey: k),
            let e = try event(txn, seq: seq)
        else { return nil }
        return Checkpoint(event: e)
    }

    func checkpoint(_ txn: LMDBTransaction, coveringAtLeast treeSize: UInt64) throws -> Checkpoint? {
        var found: Checkpoint?
        try txn.scan(checkpoints, from: Self.seqKey(treeSize + 1)) { k, _ in
            if let seq = Self.seq(fromKey: k), let e = try event(txn, seq: seq) { found = Checkpoint(event: e) }
            return false
        }
        return found
    }
}
