/// Why the node refused a request or could not start. `code` is stable (`node.*`); the message
/// says what to do.
package struct NodeError: Error, Sendable, CustomStringConvertible, Equatable {
    package enum Code: String, Sendable {
        case configMissing = "node.config_missing"
        case configInvalid = "node.config_invalid"
        case exists = "node.exists"
        case notAParticipant = "node.not_a_participant"
        case unknownAddress = "node.unknown_address"
        case noRoute = "node.no_route"
        case invalidMessage = "node.invalid_message"
        case keyUnusable = "node.key_unusable"
        case unknownIdentity = "node.unknown_identity"
        case notFound = "node.not_found"
        case storage = "node.storage"
        /// The node is running in another process (it holds the ledger).
        case running = "node.running"
        /// The caller is known but its grants do not allow the request (recorded as `access.denied`).
        case forbidden = "node.forbidden"
        /// The content was erased under a retention rule; the `blob.erased` event says when and why.
        case erased = "node.erased"
        /// The content is encrypted at rest and its participant's key-encryption key is not
        /// available (missing or unsafe key file); metadata is unaffected.
        case contentKeyUnavailable = "node.content_key_unavailable"
        /// The read could not be recorded in the ledger, so nothing was returned (audit-first).
        case auditUnavailable = "node.audit_unavailable"
        /// A request that is malformed or names something inconsistent (a grant with no right, say).
        case invalidRequest = "node.invalid_request"
        /// The request collides with one in progress (the same idempotency key, say); ask again later.
        case conflict = "node.conflict"
        /// The request is well-formed, but the rules refuse it (a right that cannot be granted on
        /// that scope, a period that ends before it begins).
        case unprocessable = "node.unprocessable"
        /// A byte range that selects nothing of the content (it starts at or beyond its end).
        case rangeNotSatisfiable = "node.range_not_satisfiable"
        /// An `asOf` position the ledger has not reached yet.
        case positionNotReached = "node.position_not_reached"
        /// The caller (or the node) holds as many event streams open as allowed; close one first.
        case tooManyStreams = "node.too_many_streams"
        /// A bearer token could not be verified; the message starts with its `auth.*` code.
        case unauthenticated = "node.unauthenticated"
        /// `kvitto token` was asked for a token while the development issuer is off.
        case developmentIssuerOff = "node.development_issuer_off"
        /// Webhooks were asked for, but the node's configuration has no `api.webhooks`.
        case webhooksOff = "node.webhooks_off"
        /// No checkpoint covers what was asked for yet, and this process cannot write one (the
        /// node holds the ledger and writes them periodically); ask again after its next one.
        case noCheckpoint = "node.no_checkpoint"
        /// A backup that does not match its manifest, whose ledger does not verify, lacks a blob,
        /// or does not extend the given witness: `kvitto restore` refuses it.
        case backupInvalid = "node.backup_invalid"
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
