package import Ledger

/// Where persisted projections keep their rows: named tables of byte keys and values, read in
/// snapshots and written in atomic transactions. The node uses ``KeyValueStore`` (LMDB, beside the
/// ledger); another backend (PostgreSQL, say) implements these three protocols.
///
/// The rows are derived from the ledger, so a backend need not make each transaction durable when
/// it commits, as long as a store a machine stop may have damaged is never read again (it starts
/// empty and is refolded), and a killed process loses nothing it committed.
package protocol ProjectionStorage: Sendable {
    /// Runs `body` on a consistent snapshot.
    func read<T>(_ body: (any ProjectionReading) throws -> T) throws -> T
    /// Runs `body` in one atomic transaction; nothing is stored when it throws. `body` may be run
    /// again (a backend may retry), so it must have no effects outside the writer.
    func write<T>(_ body: (any ProjectionWriting) throws -> T) throws -> T
    /// Puts every committed transaction on the disk (nothing to do for a backend that did at commit).
    func flush() throws
}

/// Reads inside one snapshot.
package protocol ProjectionReading {
    func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]?
    /// Entries from the first key >= `start`, in key order, until `body` returns false.
    func scan(_ table: String, from start: [UInt8]?, _ body: ([UInt8], [UInt8]) throws -> Bool) throws
    /// Entries whose key starts with `prefix`, in key order, until `body` returns false.
    func scan(_ table: String, prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws
    func count(_ table: String) throws -> Int
    /// The value under `key`, handed to `body` (which must not keep it), or nil. For lookups in
    /// hot reads: a backend that can lend its bytes without copying does.
    func withValue(_ table: String, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws
    /// ``scan(_:from:_:)`` lending each key and value to `body`, which must not keep them.
    func scanInPlace(_ table: String, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws
}

extension ProjectionReading {
    /// ``withValue(_:_:_:)`` through ``get(_:_:)``, for a backend that has no cheaper way.
    package func withValue(_ table: String, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        guard let value = try get(table, Array(key)) else { return try body(nil) }
        try value.withUnsafeBytes { try body($0) }
    }

    /// ``scanInPlace(_:from:_:)`` through ``scan(_:from:_:)``, for a backend that has no cheaper way.
    package func scanInPlace(_ table: String, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try scan(table, from: start) { k, v in try k.withUnsafeBytes { kb in try v.withUnsafeBytes { vb in try body(kb, vb) } } }
    }
}

/// Reads and writes inside one transaction.
package protocol ProjectionWriting: ProjectionReading {
    func put(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws
    @discardableResult func delete(_ table: String, _ key: [UInt8]) throws -> Bool
    func clear(_ table: String) throws
}

extension KeyValueReader: ProjectionReading {}

extension KeyValueWriter: ProjectionWriting {
    package func scan(_ table: String, from start: [UInt8]?, _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try reader.scan(table, from: start, body)
    }
    package func scan(_ table: String, prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try reader.scan(table, prefix: prefix, body)
    }
    package func count(_ table: String) throws -> Int { try reader.count(table) }
    package func withValue(_ table: String, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try reader.withValue(table, key, body)
    }
    package func scanInPlace(_ table: String, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try reader.scanInPlace(table, from: start, body)
    }
}

extension KeyValueStore: ProjectionStorage {
    package func read<T>(_ body: (any ProjectionReading) throws -> T) throws -> T {
        try read { (r: KeyValueReader) in try body(r) }
    }
    package func write<T>(_ body: (any ProjectionWriting) throws -> T) throws -> T {
        try write { (w: KeyValueWriter) in try body(w) }
    }
}
