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
                    let n = try! await limiter.acquire(1 + i % 7)
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
        let first = try await limiter.acquire(6)
        probe.enter("first", first)
        // "large" (clamped to 10) queues behind "first"; "small" arrives after it and fits the
        // 4 free units, but must not overtake it.
        let large = Task {
            let n = try! await limiter.acquire(500)
            probe.enter("large", n)
            XCTAssertEqual(n, 10, "a request above the limit takes the whole limit")
            try? await Task.sleep(for: .milliseconds(20))
            probe.leave(n)
            limiter.release(n)
        }
        try await Task.sleep(for: .milliseconds(50))
        let small = Task {
            let n = try! await limiter.acquire(2)
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
        XCTAssertEqual(limiter.held, 0)
    }

    /// A waiter cancelled while it waits leaves the queue holding nothing, and the one behind it
    /// moves up.
    func testACancelledWaiterLeavesTheQueue() async throws {
        let limiter = AsyncLimiter(10)
        let first = try await limiter.acquire(8)
        let blocked = Task { try await limiter.acquire(5) }      // waits: 8 + 5 > 10
        try await Task.sleep(for: .milliseconds(50))
        let behind = Task { try await limiter.acquire(2) }       // queued behind `blocked`
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(limiter.held, 8)
        blocked.cancel()
        do {
            _ = try await blocked.value
            XCTFail("a cancelled waiter was admitted")
        } catch { XCTAssertTrue(error is CancellationError, "\(error)") }
        let n = try await behind.value                           // 8 + 2 fits once `blocked` left
        XCTAssertEqual(n, 2)
        XCTAssertEqual(limiter.held, 10)
        limiter.release(n)
        limiter.release(first)
        XCTAssertEqual(limiter.held, 0)
        // A task cancelled before it asks gets nothing either.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await limiter.acquire(20)
        }
        _ = try? await late.value
        XCTAssertEqual(limiter.held, 0)
        XCTAssertEqual(AsyncLimiter.mebibytes(1 << 20), 1)
        XCTAssertEqual(AsyncLimiter.mebibytes((1 << 20) + 1), 2)
    }
}
