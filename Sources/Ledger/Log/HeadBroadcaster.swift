import Synchronization

/// Tells subscribers that a head (the ledger's durable head, or any position that only grows)
/// moved. Waiters are resumed, never polled.
package final class HeadBroadcaster: Sendable {
    private struct State {
        var head: UInt64
        var closed = false
        var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<UInt64, any Error>)] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    package init(head: UInt64) {
        state = Mutex(State(head: head))
    }

    package var head: UInt64 { state.withLock { $0.head } }

    package func publish(_ seq: UInt64) {
        let ready = state.withLock { s -> [CheckedContinuation<UInt64, any Error>] in
            s.head = max(s.head, seq)
            let due = s.waiters.filter { $0.value.after < s.head }
            for id in due.keys { s.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        for c in ready { c.resume(returning: seq) }
    }

    package func close() {
        let all = state.withLock { s -> [CheckedContinuation<UInt64, any Error>] in
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters.values.map(\.continuation)
        }
        for c in all { c.resume(throwing: LedgerError(.closed, "the ledger was closed")) }
    }

    /// Returns the head once it is greater than `seq`; throws if the ledger closes or the task is
    /// cancelled.
    package func wait(after seq: UInt64) async throws -> UInt64 {
        let id = state.withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<UInt64, any Error>) in
                let immediate: Result<UInt64, any Error>? = state.withLock { s in
                    if s.closed { return .failure(LedgerError(.closed, "the ledger was closed")) }
                    if s.head > seq { return .success(s.head) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = (seq, c)
                    return nil
                }
                if let immediate { c.resume(with: immediate) }
            }
        } onCancel: {
            let c = state.withLock { s in s.waiters.removeValue(forKey: id)?.continuation }
            c?.resume(throwing: CancellationError())
        }
    }
}
