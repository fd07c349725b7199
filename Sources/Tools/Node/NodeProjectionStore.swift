package import Ledger
package import Projections

/// The persisted projections of a node: a ``KeyValueStore`` in `<node>/projections`, beside the
/// ledger, folded by a ``ProjectionEngine``. Several processes may open it at once (the node and
/// `kvitto projections`); their write transactions are serialised by LMDB.
package enum NodeProjectionStore {
    /// The folder inside the node directory.
    package static let folder = "projections"

    /// Opens (creating when absent) the store of the node in `directory` over `ledger`.
    package static func open(node directory: String, ledger: Ledger,
                             projections: [any PersistedProjection] = PersistedProjections.all) throws -> ProjectionEngine {
        // Derived from the ledger: commits not flushed one by one, refolded after a machine stop
        // that may have damaged them (see KeyValueStore's `derived`).
        let store = try KeyValueStore(path: directory + "/" + folder, tables: ProjectionEngine.tables(for: projections), derived: true)
        return try ProjectionEngine(ledger: ledger, storage: store, projections: projections)
    }
}
