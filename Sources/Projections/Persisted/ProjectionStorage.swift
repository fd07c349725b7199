package import Ledger

/// Where persisted projections keep their rows: named tables of byte keys and values, read in
/// snapshots and written in atomic, durable transactions. The node uses ``KeyValueStore`` (LMDB,
/// beside the ledger); another backend (PostgreSQL, say) implements these three protocols.
package protocol ProjectionStorage: Sendable {
    /// Runs `body` on a consistent snapshot.
    func read<T>(_ body: (any ProjectionReading) throws -> T) throws -> T
    /// Runs `body` in one atomic, durable transaction; nothing is stored when it throws. `body`
    /// may be run again (a backend may retry), so it must have no effects outside the writer.
    func write<T>(_ body: (any ProjectionWriting) throws -> T) throws -> T
}

/// Reads inside one snapshot.
package protocol ProjectionReading {
    func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]?
    /// Entries from the first key >= `start`, in key order, until `body` returns false.
    func scan(_ table: String, from start: [UInt8]?, _ body: ([UInt8], [UInt8]) throws -> Bool) throws
    /// Entries whose key starts with `prefix`, in key order, until `body` returns false.
    func scan(_ table: String, prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws
    func count(_ table: String) throws -> Int
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
}

extension KeyValueStore: ProjectionStorage {
    package func read<T>(_ body: (any ProjectionReading) throws -> T) throws -> T {
        try read { (r: KeyValueReader) in try body(r) }
    }
    package func write<T>(_ body: (any ProjectionWriting) throws -> T) throws -> T {
        try write { (w: KeyValueWriter) in try body(w) }
    }
}
