import Foundation
import Synchronization

/// Which refused inbound requests become ledger events, so that evidence of refusals is kept
/// without letting a peer drive the ledger:
///
/// - A request refused **before** its sender was authenticated (unreadable, unsigned, a signature
///   or certificate that does not hold) is never a ledger event: anyone can send it. It is
///   counted per error code and logged at most once per code per ``interval``, with the number
///   of such refusals since the previous log line.
/// - A request refused **after** its WS-Security signature and certificate were verified comes
///   from a known access point. The first refusal per (access point, error code) in each
///   ``interval`` is appended as `message.rejected`, carrying `repeats_before` — how many
///   refusals of the same key were only counted since the previous event; the others in the
///   interval are counted.
///
/// So a peer can add at most one event per error code per interval, and only with a valid
/// federation certificate (one that would identify it). The clock is injected for tests.
final class RefusalPolicy: Sendable {
    /// How long one event (or one log line) stands for the refusals that follow it.
    let interval: TimeInterval
    private let now: @Sendable () -> Date
    private let state = Mutex<State>(State())

    private struct State {
        var authenticated: [String: Window] = [:]
        var anonymous: [String: Window] = [:]
        /// Refusals of unauthenticated requests since start, by ebMS code.
        var anonymousTotals: [String: Int] = [:]
    }

    private struct Window {
        var opened: Date
        var suppressed: Int
    }

    /// What to do with one refusal.
    enum Decision: Equatable {
        /// Append an event; `repeatsBefore` refusals of the same key were counted since the last one.
        case record(repeatsBefore: Int)
        /// Write one log line covering `count` refusals.
        case log(count: Int)
        /// Only count it.
        case count
    }

    init(interval: TimeInterval = 60, now: @escaping @Sendable () -> Date = { Date() }) {
        self.interval = interval
        self.now = now
    }

    /// The decision for a refusal with `code`; `peer` is the authenticated access point's party
    /// id, nil when the sender was not authenticated.
    func decide(code: String, peer: String?) -> Decision {
        let t = now()
        return state.withLock { s in
            if let peer {
                let key = peer + "\u{0}" + code
                return Self.step(&s.authenticated[key], at: t, interval: interval, first: { .record(repeatsBefore: $0) })
            }
            s.anonymousTotals[code, default: 0] += 1
            return Self.step(&s.anonymous[code], at: t, interval: interval, first: { .log(count: $0 + 1) })
        }
    }

    /// Refusals of unauthenticated requests since the node started, by ebMS error code.
    var anonymousTotals: [String: Int] { state.withLock { $0.anonymousTotals } }

    private static func step(_ window: inout Window?, at t: Date, interval: TimeInterval, first: (Int) -> Decision) -> Decision {
        if let w = window, t.timeIntervalSince(w.opened) < interval {
            window!.suppressed += 1
            return .count
        }
        let before = window?.suppressed ?? 0
        window = Window(opened: t, suppressed: 0)
        return first(before)
    }
}
