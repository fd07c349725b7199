package import Foundation

/// Where the MSH keeps its retry schedule. The node implements it as a ledger projection; the
/// MSH only asks and records.
package protocol RetrySchedule: Sendable {
    /// Records that `messageId` was attempted (attempt 0 = first send) and when to try next
    /// (nil: no retry left).
    func recordAttempt(messageId: String, attempt: Int, next: Date?) async throws
    /// Messages whose next attempt is due at `now`.
    func due(at now: Date) async throws -> [(messageId: String, attempt: Int)]
}

/// Where the MSH remembers received message ids and the receipts it answered with, so a repeated
/// MessageId gets the original receipt and is not delivered twice.
package protocol DuplicateStore: Sendable {
    /// The receipt bytes (SOAP envelope) sent for `messageId`, if it was received before.
    func receipt(for messageId: String) async throws -> [UInt8]?
    /// Remembers a delivered message and its receipt. Returns false when another delivery of the
    /// same id won the race (the caller must then answer with ``receipt(for:)``).
    func remember(messageId: String, receipt: [UInt8]) async throws -> Bool
}
