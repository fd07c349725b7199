import Foundation
import Synchronization

/// A clock the tests move: real time plus an offset.
final class TestClock: Sendable {
    private let offset = Mutex(0.0)

    func advance(_ seconds: Double) { offset.withLock { $0 += seconds } }

    func read() -> Double { Date().timeIntervalSince1970 + offset.withLock { $0 } }

    var now: @Sendable () -> Double { { self.read() } }
}
