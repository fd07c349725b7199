/// Where one webhook's deliveries stand, kept in the ``WebhookStore`` (not in the ledger: it
/// changes with every delivery): the last ledger position delivered or skipped, the retry
/// state, and counters for its owner. At-least-once: the position is written after the
/// deliveries it covers succeeded, so a process killed in between delivers them again (with the
/// same `webhook-id`).
package struct WebhookProgress: Codable, Sendable, Equatable {
    package var position: UInt64
    /// Failed attempts since the last success, the failing period and the next attempt's time.
    package var retry = WebhookRetry()
    /// Deliveries that succeeded (this store's count; redeliveries count again).
    package var delivered: UInt64 = 0
    /// When the last delivery succeeded (seconds since 1970).
    package var lastSuccess: Double?

    package init(position: UInt64) { self.position = position }
}
