package import Ledger

/// A read model kept in ``ProjectionStorage`` and folded from the ledger in seq order by a
/// ``ProjectionEngine``, which stores each projection's rows and its last applied seq in the same
/// transaction: after a crash at any moment a projection is exactly as of some seq, and goes on
/// from there.
///
/// `apply` must be deterministic (a function of the event and the projection's own rows), so that
/// a rebuild from seq 1 gives the same rows, and so the same ``ProjectionEngine/digest(_:)``.
package protocol PersistedProjection: Sendable {
    /// Stable name; its tables are named `<name>.<table>`.
    var name: String { get }
    /// The fold's version: a projection stored with another version is dropped and rebuilt.
    var version: Int { get }
    /// The tables it owns (without the `<name>.` prefix).
    var tables: [String] { get }
    /// Folds one event into the projection's rows (`rows` prefixes the table names).
    func apply(_ event: Event, to rows: ProjectionRows) throws
}

/// One projection's tables inside a write transaction (names without the prefix).
package struct ProjectionRows {
    let writer: any ProjectionWriting
    let prefix: String

    package func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]? { try writer.get(prefix + table, key) }
    package func put(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws { try writer.put(prefix + table, key, value) }
    @discardableResult package func delete(_ table: String, _ key: [UInt8]) throws -> Bool { try writer.delete(prefix + table, key) }
    package func scan(_ table: String, prefix p: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try writer.scan(prefix + table, prefix: p, body)
    }
}

extension PersistedProjection {
    /// The full table names in storage.
    package var storedTables: [String] { tables.map { name + "." + $0 } }
}
