import Synchronization

/// Wakes the node's scheduler as soon as something may have become due (an event was appended,
/// a worker finished), instead of waiting for the next poll.
final class Wakeup: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// Wakes the waiter, or the next wait if nobody waits now.
    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after the next ``signal()`` (at once if one came since the last wait). One waiter
    /// at a time; ``tick(every:)`` bounds the wait.
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.pending {
                    s.pending = false
                    return true
                }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// Signals every `interval` until the task is cancelled, and once more then (so that a waiter
    /// sees the cancellation). One timer for the waiter's whole life instead of one per wait:
    /// under load the scheduler waits hundreds of times a second.
    func tick(every interval: Duration) async {
        while true {
            do { try await Task.sleep(for: interval) } catch { break }
            signal()
        }
        signal()
    }
}
