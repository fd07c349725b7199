import Foundation
import Synchronization

/// Standard input as lines, read on a dedicated thread, handed out in groups: `take(max:)` waits
/// for at least one line (or the end) and returns every line already read, up to `max`. Appending
/// each group as one batch lets the ledger group-commit whatever arrived together.
final class StdinLines: Sendable {
    private struct State {
        var lines: [String] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    /// Lines read but not yet taken before the reader pauses (back-pressure).
    private let highWater = 65536

    init() {
        let thread = Thread { [self] in
            while let line = readLine(strippingNewline: true) {
                while state.withLock({ $0.lines.count >= highWater }) { usleep(1000) }
                let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    s.lines.append(line)
                    defer { s.waiter = nil }
                    return s.waiter
                }
                w?.resume()
            }
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.finished = true
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
        thread.start()
    }

    /// Up to `max` lines; an empty result means standard input ended.
    func take(max: Int) async -> [String] {
        while true {
            let taken = state.withLock { s -> [String]? in
                if !s.lines.isEmpty {
                    let n = Swift.min(max, s.lines.count)
                    defer { s.lines.removeFirst(n) }
                    return Array(s.lines.prefix(n))
                }
                return s.finished ? [] : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.lines.isEmpty || s.finished { return true }
                    s.waiter = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }
}
