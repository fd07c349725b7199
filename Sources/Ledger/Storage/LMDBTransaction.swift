import CLMDB

/// One LMDB transaction, valid only inside the closure that received it.
struct LMDBTransaction {
    let txn: OpaquePointer

    func openDatabase(_ name: String, create: Bool) throws -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try lmdbCheck(mdb_dbi_open(txn, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "mdb_dbi_open(\(name))")
        return LMDBDatabase(dbi: dbi)
    }

    /// The value stored under `key`, copied out of the map, or nil.
    func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        var k = MDB_val()
        var v = MDB_val()
        let rc = key.withUnsafeBytes { kb -> Int32 in
            k.mv_size = kb.count
            k.mv_data = UnsafeMutableRawPointer(mutating: kb.baseAddress)
            return mdb_get(txn, db.dbi, &k, &v)
        }
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_get")
        return Self.bytes(v)
    }

    /// Hands `body` the value stored under `key` in place in the map (valid only during the
    /// call), or nil.
    func withValue(_ db: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return try body(nil) }
        try lmdbCheck(rc, "mdb_get")
        try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Stores `value` under `key`. With `append`, the key must sort after every existing key
    /// (LMDB's `MDB_APPEND`, which fills pages completely and skips the search).
    func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8], append: Bool = false, what: @autoclosure () -> String = "") throws {
        let rc = key.withUnsafeBytes { kb in
            value.withUnsafeBytes { vb in
                var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
                var v = MDB_val(mv_size: vb.count, mv_data: UnsafeMutableRawPointer(mutating: vb.baseAddress))
                return mdb_put(txn, db.dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0)
            }
        }
        if rc != 0 { try lmdbCheck(rc, "mdb_put" + (what().isEmpty ? "" : "(\(what()))")) }
    }

    /// Stores `first ‖ second ‖ third` under the 8-byte big-endian key `key`, copying each part
    /// straight into the space LMDB reserved for the value (`MDB_RESERVE`): no intermediate array
    /// (the append path calls this once per event and once per Merkle node).
    /// With `append`, as in ``put(_:_:_:append:what:)``.
    func put(_ db: LMDBDatabase, key: UInt64, _ first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        _ third: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        append: Bool, what: @autoclosure () -> String = "") throws
    {
        var bigEndian = key.bigEndian
        var v = MDB_val(mv_size: first.count + second.count + third.count, mv_data: nil)
        let flags = UInt32(MDB_RESERVE) | (append ? UInt32(MDB_APPEND) : 0)
        let rc = withUnsafeMutableBytes(of: &bigEndian) { kb in
            var k = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
            return mdb_put(txn, db.dbi, &k, &v, flags)
        }
        if rc != 0 { try lmdbCheck(rc, "mdb_put" + (what().isEmpty ? "" : "(\(what()))")) }
        guard let reserved = v.mv_data else { return }
        if first.count > 0 { reserved.copyMemory(from: first.baseAddress!, byteCount: first.count) }
        if second.count > 0 { (reserved + first.count).copyMemory(from: second.baseAddress!, byteCount: second.count) }
        if third.count > 0 {
            (reserved + first.count + second.count).copyMemory(from: third.baseAddress!, byteCount: third.count)
        }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    func delete(_ db: LMDBDatabase, _ key: [UInt8]) throws -> Bool {
        let rc = key.withUnsafeBytes { kb -> Int32 in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            return mdb_del(txn, db.dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try lmdbCheck(rc, "mdb_del")
        return true
    }

    /// Deletes every entry of `db` (the database itself stays).
    func clear(_ db: LMDBDatabase) throws {
        try lmdbCheck(mdb_drop(txn, db.dbi, 0), "mdb_drop")
    }

    /// The number of entries in `db`.
    func count(_ db: LMDBDatabase) throws -> Int {
        var s = MDB_stat()
        try lmdbCheck(mdb_stat(txn, db.dbi, &s), "mdb_stat")
        return s.ms_entries
    }

    /// Calls `body` for each entry from the first key >= `start` (or the first key), in key order,
    /// until `body` returns false. Keys and values are copied out of the map.
    func scan(_ db: LMDBDatabase, from start: [UInt8]?, _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try scanInPlace(db, from: start) { k, v in try body(Array(k), Array(v)) }
    }

    /// ``scan(_:from:_:)`` with each key and value in place in the map (valid only during the
    /// call: no copy).
    func scanInPlace(_ db: LMDBDatabase, from start: [UInt8]?,
                     _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc: Int32
        if let start {
            rc = start.withUnsafeBytes { sb -> Int32 in
                k = MDB_val(mv_size: sb.count, mv_data: UnsafeMutableRawPointer(mutating: sb.baseAddress))
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        }
        while rc == 0 {
            if try !body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try lmdbCheck(rc, "mdb_cursor_get") }
    }

    /// Calls `body` with each value of `db` in key order, in place in the map (no copy; the
    /// buffer is valid only during the call), until `body` returns false. For measuring the raw
    /// read rate of a table.
    func scanInPlace(_ db: LMDBDatabase, _ body: (UnsafeRawBufferPointer) -> Bool) throws {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        while rc == 0 {
            if !body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try lmdbCheck(rc, "mdb_cursor_get") }
    }

    /// The last entry of `db` in key order, or nil when it is empty.
    func last(_ db: LMDBDatabase) throws -> (key: [UInt8], value: [UInt8])? {
        var cursor: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_cursor_get")
        return (Self.bytes(k), Self.bytes(v))
    }

    private static func bytes(_ v: MDB_val) -> [UInt8] {
        guard let data = v.mv_data, v.mv_size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: v.mv_size))
    }
}
