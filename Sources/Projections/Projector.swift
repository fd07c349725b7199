package import Ledger
import Synchronization

/// Folds a ledger into an in-memory ``NodeProjection`` from seq 1: the reference fold the tests
/// compare the node's persisted state with (the node itself reads the persisted rows by key).
/// Every read first applies what was appended since the last read.
package final class Projector: Sendable {
    package let ledger: Ledger
    private let state = Mutex(NodeProjection())

    package init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Applies every durable event not yet applied, then runs `body` on the state.
    package func read<T>(_ body: (NodeProjection) throws -> T) throws -> T {
        try state.withLock { s in
            // Nothing new (the common case for the process that writes): no LMDB transaction.
            while try ledger.durableHead() > s.appliedSeq {
                let page = try ledger.events(from: s.appliedSeq + 1, limit: 1024)
                if page.isEmpty { throw LedgerError(.corrupt, "event \(s.appliedSeq + 1) is below the durable head but missing; run `kvitto ledger verify`") }
                for e in page { s.apply(e) }
            }
            return try body(s)
        }
    }

    /// A copy of the current state.
    package func snapshot() throws -> NodeProjection { try read { $0 } }
}
