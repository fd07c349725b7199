import Synchronization

/// An async counting semaphore: at most ``limit`` holders at once; the others wait in order
/// (never spinning, never refused). Every ``acquire()`` must be paired with one ``release()``.
package final class AsyncLimiter: Sendable {
    package let limit: Int
    private let state: Mutex<State>

    private struct State {
        var holders = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    package init(_ limit: Int) {
        self.limit = max(1, limit)
        state = Mutex(State())
    }

    package func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { s -> Bool in
                if s.holders < limit {
                    s.holders += 1
                    return true
                }
                s.waiters.append(c)
                return false
            }
            if admitted { c.resume() }
        }
    }

    package func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.holders -= 1
                return nil
            }
            return s.waiters.removeFirst()  // the slot passes to the next waiter
        }
        next?.resume()
    }
}
