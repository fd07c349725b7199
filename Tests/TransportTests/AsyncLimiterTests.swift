import Synchronization
@testable import Transport
import XCTest

/// The processing budget: units are held by weight, waiters are admitted in arrival order, and a
/// request larger than the limit runs alone rather than never.
final class AsyncLimiterTests: XCTestCase {
    /// Records the units held at once and the order in which holders started.
    final class Probe: Sendable {
        private let state = Mutex<(held: Int, peak: Int, order: [String])>((0, 0, []))
        func enter(_ name: String, _ units: Int) {
            state.withLock { $0.held += units; $0.peak = max($0.peak, $0.held); $0.order.append(name) }
        }
        func leave(_ units: Int) { state.withLock { $0.held -= units } }
        var peak: Int { state.withLock { $0.peak } }
        var order: [String] { state.withLock { $0.order } }
    }

    func testUnitsHeldNeverExceedTheLimit() async {
        let limiter = AsyncLimiter(10)
        let probe = Probe()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let n = await limiter.acquire(1 + i % 7)
                    probe.enter("\(i)", n)
                    try? await Task.sleep(for: .milliseconds(2))
                    probe.leave(n)
                    limiter.release(n)
                }
            }
        }
        XCTAssertLessThanOrEqual(probe.peak, 10)
        XCTAssertGreaterThan(probe.peak, 1, "nothing ran side by side")
    }

    func testALargeRequestIsNotOvertakenAndOneAboveTheLimitRunsAlone() async throws {
        let limiter = AsyncLimiter(10)
        let probe = Probe()
        let first = await limiter.acquire(6)
        probe.enter("first", first)
        // "large" (clamped to 10) queues behind "first"; "small" arrives after it and fits the
        // 4 free units, but must not overtake it.
        let large = Task {
            let n = await limiter.acquire(500)
            probe.enter("large", n)
            XCTAssertEqual(n, 10, "a request above the limit takes the whole limit")
            try? await Task.sleep(for: .milliseconds(20))
            probe.leave(n)
            limiter.release(n)
        }
        try await Task.sleep(for: .milliseconds(50))
        let small = Task {
            let n = await limiter.acquire(2)
            probe.enter("small", n)
            probe.leave(n)
            limiter.release(n)
        }
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(probe.order, ["first"], "a waiter was admitted while units were short or out of order")
        probe.leave(first)
        limiter.release(first)
        await large.value
        await small.value
        XCTAssertEqual(probe.order, ["first", "large", "small"])
        XCTAssertLessThanOrEqual(probe.peak, 10)
        XCTAssertEqual(AsyncLimiter.mebibytes(0), 1)
        XCTAssertEqual(AsyncLimiter.mebibytes(1 << 20), 1)
        XCTAssertEqual(AsyncLimiter.mebibytes((1 << 20) + 1), 2)
    }
}
