package import Ledger

/// Ledger positions by wall-clock time: event times never decrease along the ledger, so the
/// last position at or before a time is found by bisection.
package enum LedgerPosition {
    /// The seq of the last durable event at or before `time` (0 when the ledger starts after it).
    package static func seq(atOrBefore time: Timestamp, in ledger: Ledger) throws(NodeError) -> UInt64 {
        do {
            var low: UInt64 = 0, high = try ledger.durableHead()  // event `low` (or none) is at or before `time`
            while low < high {
                let mid = low + (high - low + 1) / 2
                guard let e = try ledger.event(mid) else { throw NodeError(.storage, "event \(mid) is missing below the head") }
                if e.time <= time { low = mid } else { high = mid - 1 }
            }
            return low
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.storage, "reading the ledger: \(error)")
        }
    }
}
