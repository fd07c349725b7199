import Foundation
package import Projections
import Synchronization

/// Submitting a message on behalf of an authenticated caller: the caller needs `send` on the
/// sending mailbox (a refusal is recorded); an idempotency key makes a retried submission answer
/// with the message it already made instead of sending twice.
///
/// Keys are scoped to the caller (`api:<actor>:<key>` is the submission id recorded in
/// `message.submitted`), so one caller can neither collide with nor probe another's keys. The
/// same key arriving twice at once is refused for the second (`node.conflict`) until the first is done.
package final class MessageSubmission: Sendable {
    let node: Node
    private let inFlight: Mutex<Set<String>>

    package init(node: Node) {
        self.node = node
        self.inFlight = Mutex([])
    }

    /// The message's id, and whether it was made by an earlier submission with the same key.
    package func submit(_ m: OutboundMessage, idempotencyKey: String?, as principal: Principal) async throws(NodeError)
        -> (id: String, replayed: Bool)
    {
        try await node.access.authorizeSend(from: m.from, as: principal)
        guard let key = idempotencyKey else {
            return (try await node.submit(m, actor: principal.actor), false)
        }
        let submissionID = "api:" + principal.actor + ":" + key
        if let done = try existing(submissionID) { return (done, true) }
        guard inFlight.withLock({ $0.insert(submissionID).inserted }) else {
            throw NodeError(.conflict, "a submission with this Idempotency-Key is in progress; ask again when it is done")
        }
        defer { _ = inFlight.withLock { $0.remove(submissionID) } }
        if let done = try existing(submissionID) { return (done, true) }
        return (try await node.submit(m, actor: principal.actor, submissionID: submissionID), false)
    }

    private func existing(_ submissionID: String) throws(NodeError) -> String? {
        try node.read { try $0.submission(submissionID) }
    }
}
