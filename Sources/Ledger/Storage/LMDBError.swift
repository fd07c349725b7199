import CLMDB

/// An error returned by LMDB, with the LMDB return code and the operation that failed.
package struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The LMDB (or errno) return code.
    package let code: Int32
    /// The operation that failed, e.g. `mdb_txn_commit`.
    package let operation: String

    /// For `MDB_MAP_FULL`: the map size the transaction had when it found the map full (read while
    /// no resize could overlap it), so that a writer grows the map from that size and not from one
    /// another writer has grown it to since.
    package internal(set) var mapSize: Int?

    package init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    package var isMapFull: Bool { code == MDB_MAP_FULL }
    package var isNotFound: Bool { code == MDB_NOTFOUND }

    package var description: String {
        let text = mdb_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(operation) failed: \(text) (LMDB code \(code))"
    }
}

@inline(__always)
func lmdbCheck(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if rc != 0 { throw LMDBError(code: rc, operation: operation()) }
}
