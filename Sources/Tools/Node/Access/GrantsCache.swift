package import Projections
import Synchronization

/// The grants of recently seen callers, valid while the ledger's durable head stays where it was
/// when they were read: grants change only through events, so at the same head the grants
/// projection answers the same. The first read at a new head drops everything remembered; at most
/// ``capacity`` callers are remembered per head. Rights are still decided per request from these
/// grants at the request's time (validity periods).
package final class GrantsCache: Sendable {
    package static let capacity = 4096

    private struct Table {
        var head: UInt64 = 0
        var entries: [[PrincipalName]: (seq: UInt64, grants: [Grant])] = [:]
    }
    private let table = Mutex(Table())

    package init() {}

    /// The grants of `names` and the projections' position they were read at, if read at `head`.
    func grants(of names: [PrincipalName], head: UInt64) -> (seq: UInt64, grants: [Grant])? {
        table.withLock { $0.head == head ? $0.entries[names] : nil }
    }

    /// Remembers the grants of `names` read after catching up with `head`.
    func remember(_ names: [PrincipalName], head: UInt64, seq: UInt64, grants: [Grant]) {
        table.withLock { t in
            if t.head != head {
                // Only a newer head replaces the table (an older reader finishing late adds nothing).
                guard head > t.head else { return }
                t = Table(head: head)
            }
            if t.entries.count >= Self.capacity { t.entries.removeAll(keepingCapacity: true) }
            t.entries[names] = (seq, grants)
        }
    }
}
