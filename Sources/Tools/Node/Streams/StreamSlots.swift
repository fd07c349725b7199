import Synchronization

/// How many event streams are open, per caller and in all, with bounds: a stream holds a
/// connection (a file descriptor) for as long as it lasts, so a caller opening them without end
/// would exhaust the node's. A ``Slot`` is taken before a stream opens and given back when it is
/// released (the stream ends and its reader is dropped).
package final class StreamSlots: Sendable {
    /// Streams one caller (by its actor name) may hold open at once.
    package let perCaller: Int
    /// Streams open at once in all.
    package let total: Int
    private let open = Mutex<(byCaller: [String: Int], all: Int)>(([:], 0))

    package init(perCaller: Int = 64, total: Int = 8192) {
        self.perCaller = max(1, perCaller)
        self.total = max(1, total)
    }

    /// One open stream; gives its place back when released.
    package final class Slot: Sendable {
        private let slots: StreamSlots
        private let caller: String

        fileprivate init(_ slots: StreamSlots, _ caller: String) {
            self.slots = slots
            self.caller = caller
        }

        deinit { slots.release(caller) }
    }

    /// A slot for `caller`, or nil when it (or the node) holds as many streams as allowed.
    package func take(_ caller: String) -> Slot? {
        let taken = open.withLock { o -> Bool in
            guard o.all < total, o.byCaller[caller, default: 0] < perCaller else { return false }
            o.byCaller[caller, default: 0] += 1
            o.all += 1
            return true
        }
        return taken ? Slot(self, caller) : nil
    }

    /// Streams open now (all callers).
    package var count: Int { open.withLock { $0.all } }

    private func release(_ caller: String) {
        open.withLock { o in
            let left = o.byCaller[caller, default: 1] - 1
            o.byCaller[caller] = left > 0 ? left : nil
            o.all -= 1
        }
    }
}
