import Synchronization

/// Runs async bodies one at a time, in the order they arrive (an actor would interleave them at
/// each `await`): for a check-then-append that must not race with itself, such as a limit counted
/// from a projection and then raised by an appended event.
final class SerialGate: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// `body`, after every body that arrived before it has finished.
    func serially<T>(_ body: () async throws(NodeError) -> T) async throws(NodeError) -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let run = state.withLock { s -> Bool in
                if s.busy { s.waiting.append(c); return false }
                s.busy = true
                return true
            }
            if run { c.resume() }
        }
    }

    private func leave() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty { s.busy = false; return nil }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}
