/// The event vocabulary: every type the ledger accepts, with the payload versions it knows.
///
/// Types are never repurposed; a changed payload gets a new version. Types marked `reserved` are
/// written only by the ledger itself (genesis, key rotation, checkpoints) and refused from drafts.
public struct EventType: Sendable, Hashable {
    public let name: String
    public let versions: Set<Int64>
    public let reserved: Bool

    /// The types the ledger itself writes.
    public static let ledgerCreated = "ledger.created"
    public static let keyRotated = "node.key.rotated"
    public static let checkpoint = "ledger.checkpoint"

    /// The vocabulary of this build (see Schemas/ledger-events.md).
    public static let vocabulary: [String: EventType] = {
        let reserved = [ledgerCreated, keyRotated, checkpoint]
        let open = [
            // Messaging
            "message.submitted", "message.dispatched", "transport.receipt.received", "transport.error.received",
            "transport.attempt.failed", "message.delivery.failed", "message.received", "transport.receipt.sent",
            "message.rejected", "message.receipt.sent", "message.receipt.received", "message.retry.requested", "message.delivered.internally", "message.resealed",
            // Access
            "access.granted", "access.revoked", "message.accessed", "access.denied",
            // Address book
            "addressbook.organization.added", "addressbook.organization.updated", "addressbook.organization.removed",
            "addressbook.function.added", "addressbook.function.updated", "addressbook.function.removed",
            // Node and storage
            "node.certificate.changed", "blob.erased", "content.key.created",
            // Participants of the node
            "participant.added", "participant.updated", "participant.retired", "route.changed",
            // Webhook subscriptions
            "webhook.created", "webhook.secret.rotated", "webhook.disabled", "webhook.resumed", "webhook.deleted",
        ]
        var all: [String: EventType] = [:]
        for name in reserved { all[name] = EventType(name: name, versions: [1], reserved: true) }
        for name in open { all[name] = EventType(name: name, versions: [1], reserved: false) }
        // Version 2: a message delivered between two participants of one node (no AS4 hop):
        // `transport: "internal"` and the XHE ID instead of the AS4 members (node-events.md).
        for name in ["message.received", "message.receipt.received"] { all[name] = EventType(name: name, versions: [1, 2], reserved: false) }
        return all
    }()

    /// Checks a draft's type and version against the vocabulary.
    static func validate(_ draft: EventDraft, allowReserved: Bool = false) throws(LedgerError) {
        guard let known = vocabulary[draft.type] else {
            throw LedgerError(.unknownEventType,
                "unknown event type \"\(draft.type)\"; the vocabulary is listed in Schemas/ledger-events.md")
        }
        guard known.versions.contains(draft.typeVersion) else {
            let supported = known.versions.sorted().map(String.init).joined(separator: ", ")
            throw LedgerError(.unsupportedEventVersion,
                "event type \"\(draft.type)\" version \(draft.typeVersion) is not known to this build (supported: \(supported)); upgrade Kvitto or write a supported version")
        }
        if known.reserved && !allowReserved {
            throw LedgerError(.reservedEventType, "\"\(draft.type)\" is written only by the ledger itself")
        }
    }
}
