import Foundation

/// The retry state of one webhook: a value advanced by the outcomes of its deliveries and the
/// clock the caller passes in (no timer inside), so the schedule is tested without waiting.
///
/// After a failure the next attempt waits `first × 2^(attempts−1)`, at most `max`, times a jitter
/// factor in [0.5, 1) ("equal jitter": endpoints that failed together do not retry together). A
/// webhook failing without a success for `disableAfter` seconds is disabled.
package struct WebhookRetry: Codable, Sendable, Equatable {
    package struct Policy: Sendable, Equatable {
        package var first: Double
        package var max: Double
        package var disableAfter: Double

        package init(first: Double, max: Double, disableAfter: Double) {
            self.first = first
            self.max = max
            self.disableAfter = disableAfter
        }
    }

    package enum Decision: Sendable, Equatable {
        /// Try again at this time (seconds since 1970).
        case retry(at: Double)
        /// Failing for too long: disable the webhook.
        case disable
    }

    /// Failed attempts since the last success.
    package var attempts = 0
    /// When the first of them failed (seconds since 1970); nil while healthy.
    package var failingSince: Double?
    /// When the next attempt may be made.
    package var nextAttempt: Double?
    /// The last failure, as the node describes it.
    package var lastError: String?

    package init() {}

    /// Records a failure at `now`; `jitter` is a number in [0, 1). `retryAfter` (seconds, from the
    /// endpoint's `Retry-After`) makes the wait at least that long, still at most `policy.max`.
    package mutating func failed(at now: Double, error: String, policy: Policy, jitter: Double, retryAfter: Double? = nil) -> Decision {
        attempts += 1
        lastError = error
        let since = failingSince ?? now
        failingSince = since
        if now - since >= policy.disableAfter {
            nextAttempt = nil
            return .disable
        }
        let exponent = Double(Swift.min(attempts - 1, 60))
        var delay = Swift.min(policy.max, policy.first * pow(2, exponent)) * (0.5 + 0.5 * Swift.min(Swift.max(jitter, 0), 1))
        if let retryAfter, retryAfter > delay { delay = Swift.min(retryAfter, policy.max) }
        // Never past the moment it would be disabled: the last try is made then.
        let at = Swift.min(now + delay, since + policy.disableAfter)
        nextAttempt = at
        return .retry(at: at)
    }

    /// Records a success: healthy again.
    package mutating func succeeded() {
        attempts = 0
        failingSince = nil
        nextAttempt = nil
    }
}
