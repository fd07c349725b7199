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
        let units: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var held = 0
        var waiters: [Waiter] = []

        /// Admits waiters from the front while they fit; returns their continuations.
        mutating func admit(limit: Int) -> [CheckedContinuation<Void, Never>] {
            var out: [CheckedContinuation<Void, Never>] = []
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
    /// units taken, to be passed to ``release(_:)``.
    @discardableResult
    package func acquire(_ units: Int = 1) async -> Int {
        let n = min(max(1, units), limit)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { s -> Bool in
                if s.waiters.isEmpty, s.held + n <= limit {
                    s.held += n
                    return true
                }
                s.waiters.append(Waiter(units: n, continuation: c))
                return false
            }
            if admitted { c.resume() }
        }
        return n
    }

    /// Returns `units` taken by ``acquire(_:)``, admitting the waiters that now fit.
    package func release(_ units: Int = 1) {
        let next = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.held -= units
            return s.admit(limit: limit)
        }
        for c in next { c.resume() }
    }

    /// The units held right now (for metrics and tests).
    package var held: Int { state.withLock { $0.held } }

    /// Runs `body` holding `units`.
    package func withUnits<T>(_ units: Int, _ body: () async throws -> T) async rethrows -> T {
        let n = await acquire(units)
        defer { release(n) }
        return try await body()
    }

    /// Units (MiB, rounded up, at least 1) of a payload of `bytes` bytes.
    package static func mebibytes(_ bytes: Int) -> Int { max(1, (bytes + (1 << 20) - 1) >> 20) }
}
