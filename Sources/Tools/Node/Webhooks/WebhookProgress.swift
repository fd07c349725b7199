/// Where one webhook's deliveries stand, kept in the ``WebhookStore`` (not in the ledger: it
/// changes with every delivery): the last ledger position delivered or skipped, the retry
/// state, and counters for its owner. At-least-once: the position is written after the
/// deliveries it covers succeeded, so a process killed in between delivers them again (with the
/// same `webhook-id`).
package struct WebhookProgress: Codable, Sendable, Equatable {
    package var position: UInt64
    package var attempts: Int
    package var failingSince: Double?
    package var nextAttempt: Double?
    package var lastError: String?
    /// Deliveries that succeeded (this store's count; redeliveries count again).
    package var delivered: UInt64
    /// When the last delivery succeeded (seconds since 1970).
    package var lastSuccess: Double?

    package init(position: UInt64) {
        self.position = position
        attempts = 0
        delivered = 0
    }

    package var retry: WebhookRetry {
        get {
            var r = WebhookRetry()
            r.attempts = attempts
            r.failingSince = failingSince
            r.nextAttempt = nextAttempt
            r.lastError = lastError
            return r
        }
        set {
            attempts = newValue.attempts
            failingSince = newValue.failingSince
            nextAttempt = newValue.nextAttempt
            lastError = newValue.lastError
        }
    }
}
