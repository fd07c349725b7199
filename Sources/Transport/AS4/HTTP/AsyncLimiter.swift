import Synchronization

/// An async weighted semaphore: holders together hold at most ``limit`` units; the others wait
/// in arrival order (never spinning, never refused, and a large request is not overtaken by
/// smaller ones that arrive after it). A request for more than ``limit`` units is granted the
/// whole limit, so it runs alone rather than never. Every ``acquire(_:)`` must be paired with one
/// ``release(_:)`` of the units it returned.
///
/// The node uses one as its processing budget: units are MiB of message payload being parsed,
/// verified, decrypted and validated at once, which is what bounds its peak memory.
package final class AsyncLimiter: Sendable {
    package let limit: Int
    private let state: Mutex<State>

    private struct Waiter {
        let id: UInt64
        let units: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var held = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Requests that have an id but are not queued or admitted yet.
        var arriving: Set<UInt64> = []
        /// Arriving requests whose cancellation handler ran before they were queued.
        var cancelledEarly: Set<UInt64> = []

        /// Admits waiters from the front while they fit; returns their continuations.
        mutating func admit(limit: Int) -> [CheckedContinuation<Void, any Error>] {
            var out: [CheckedContinuation<Void, any Error>] = []
            while let first = waiters.first, held + first.units <= limit {
                held += first.units
                out.append(first.continuation)
                waiters.removeFirst()
            }
            return out
        }
    }

    package init(_ limit: Int) {
        self.limit = max(1, limit)
        state = Mutex(State())
    }

    /// Waits until `units` (at least 1, at most ``limit``) are free and takes them; returns the
    /// units taken, to be passed to ``release(_:)``. A task cancelled while it waits leaves the
    /// queue (the waiters behind it move up) and gets `CancellationError`, holding nothing.
    @discardableResult
    package func acquire(_ units: Int = 1) async throws -> Int {
        let n = min(max(1, units), limit)
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            s.arriving.insert(s.nextID)
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                enum Entry { case admitted, queued, cancelled }
                let entry = state.withLock { s -> Entry in
                    s.arriving.remove(id)
                    if s.cancelledEarly.remove(id) != nil { return .cancelled }
                    if s.waiters.isEmpty, s.held + n <= limit {
                        s.held += n
                        return .admitted
                    }
                    s.waiters.append(Waiter(id: id, units: n, continuation: c))
                    return .queued
                }
                switch entry {
                case .admitted: c.resume()
                case .cancelled: c.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let (cancelled, admitted) = state.withLock { s -> (CheckedContinuation<Void, any Error>?, [CheckedContinuation<Void, any Error>]) in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet: it sees this when it arrives. Already admitted: it keeps its units.
                    if s.arriving.contains(id) { s.cancelledEarly.insert(id) }
                    return (nil, [])
                }
                let w = s.waiters.remove(at: i)
                return (w.continuation, s.admit(limit: limit))
            }
            cancelled?.resume(throwing: CancellationError())
            for c in admitted { c.resume() }
        }
        return n
    }

    /// Returns `units` taken by ``acquire(_:)``, admitting the waiters that now fit.
    package func release(_ units: Int = 1) {
        let next = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.held -= units
            return s.admit(limit: limit)
        }
        for c in next { c.resume() }
    }

    /// The units held right now (for metrics and tests).
    package var held: Int { state.withLock { $0.held } }

    /// Units (MiB, rounded up, at least 1) of a payload of `bytes` bytes.
    package static func mebibytes(_ bytes: Int) -> Int { max(1, (bytes + (1 << 20) - 1) >> 20) }
}
