import Node
import XCTest

/// The webhook retry schedule, driven by an explicit clock: delays double from the first, stop
/// growing at the maximum, carry a jitter factor in [0.5, 1), never pass the moment the webhook
/// would be disabled, and a webhook failing for the whole period is disabled; a success resets it.
final class WebhookRetryTests: XCTestCase {
    let policy = WebhookRetry.Policy(first: 5, max: 3600, disableAfter: 259_200)

    func testDelaysDoubleUpToTheMaximumWithJitter() {
        var r = WebhookRetry()
        var now = 1_000_000.0
        var delays: [Double] = []
        for _ in 0..<14 {
            guard case .retry(let at) = r.failed(at: now, error: "HTTP 503", policy: policy, jitter: 0.999_999) else { return XCTFail("disabled early") }
            delays.append(at - now)
            now = at
        }
        let expected = [5.0, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600, 3600]
        for (d, e) in zip(delays, expected) { XCTAssertEqual(d, e, accuracy: e * 0.00001) }
        XCTAssertEqual(r.attempts, 14)
        XCTAssertEqual(r.failingSince, 1_000_000)
        XCTAssertEqual(r.lastError, "HTTP 503")

        var low = WebhookRetry()
        guard case .retry(let at) = low.failed(at: 0, error: "x", policy: policy, jitter: 0) else { return XCTFail() }
        XCTAssertEqual(at, 2.5, "the smallest jitter factor halves the delay")
    }

    func testDisabledAfterFailingForThePeriodAndResetBySuccess() {
        var r = WebhookRetry()
        var now = 0.0
        var decisions = 0
        while true {
            decisions += 1
            XCTAssertLessThan(decisions, 200, "a bounded number of attempts")
            switch r.failed(at: now, error: "timeout", policy: policy, jitter: 0.5) {
            case .retry(let at):
                XCTAssertLessThanOrEqual(at, policy.disableAfter, "never scheduled past the disabling moment")
                XCTAssertGreaterThan(at, now)
                now = at
                continue
            case .disable:
                XCTAssertEqual(now, policy.disableAfter, "the last attempt is made at the end of the period")
            }
            break
        }
        XCTAssertNil(r.nextAttempt)
        r.succeeded()
        XCTAssertEqual(r, { var fresh = WebhookRetry(); fresh.lastError = "timeout"; return fresh }())
        guard case .retry = r.failed(at: now + 10, error: "x", policy: policy, jitter: 0) else { return XCTFail("a new period starts") }
        XCTAssertEqual(r.failingSince, now + 10)
    }

    func testRetryAfterLengthensTheWaitUpToTheMaximum() {
        var r = WebhookRetry()
        guard case .retry(let at) = r.failed(at: 0, error: "HTTP 429", policy: policy, jitter: 0.999_999, retryAfter: 120) else { return XCTFail() }
        XCTAssertEqual(at, 120, accuracy: 0.001, "the endpoint's Retry-After outweighs a 5 s backoff")
        guard case .retry(let capped) = r.failed(at: at, error: "HTTP 503", policy: policy, jitter: 0.999_999, retryAfter: 86_400) else { return XCTFail() }
        XCTAssertEqual(capped - at, 3600, accuracy: 0.001, "never longer than retry_max")
        guard case .retry(let shorter) = r.failed(at: capped, error: "HTTP 503", policy: policy, jitter: 0.999_999, retryAfter: 1) else { return XCTFail() }
        XCTAssertEqual(shorter - capped, 20, accuracy: 0.001, "a shorter Retry-After does not shorten the backoff")
    }
}

