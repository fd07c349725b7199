package import Ledger

/// Every event by the participant and the functional mailbox it belongs to, in seq order: the
/// audit log of a participant or of a mailbox is a range scan. Rows are keys only
/// (`participant:ID 0x00 seq`, `mailbox:ADDRESS 0x00 seq`, `node 0x00 seq`), kept with the
/// node's working state because a message's events belong to the message's mailbox, which the
/// message record knows (``AuditOwner``).
package enum AuditIndex {
    static let table = "audit_scope"

    /// The rows of `event`, whose owner is `owner`.
    static func index(_ event: Event, owner: AuditOwner, rows: ProjectionRows) throws {
        for key in owner.keys { try rows.put(table, EventIndex.key(key, event.seq), []) }
    }

    /// Seqs of the events of `scope` with `after < seq <= upTo`, in seq order, at most `limit`.
    package static func seqs(_ scope: AuditOwner.Scope, after: UInt64 = 0, upTo: UInt64 = .max, limit: Int,
                             in storage: any ProjectionStorage) throws -> [UInt64] {
        let prefix = ProjectionKey.of(scope.key) + [0]
        var out: [UInt64] = []
        try storage.read { r in
            try r.scan(NodeStateProjection().name + "." + table, from: EventIndex.key(scope.key, after + 1)) { k, _ in
                guard k.starts(with: prefix) else { return false }
                guard k.count == prefix.count + 8 else { return true }
                let seq = EventIndex.uint64(Array(k[prefix.count...]))
                guard seq <= upTo else { return false }
                out.append(seq)
                return out.count < limit
            }
        }
        return out
    }
}

/// Whom an event belongs to, for auditing: a message's events to the message's participant and
/// mailbox; a grant or revocation to its scope; a refusal to the resource refused; any other
/// event to the participant or mailbox its payload names (the mailbox's participant when it
/// names only a mailbox); what names none (the node's own
/// events, a refusal of something unknown) to the node alone.
package struct AuditOwner: Sendable, Equatable {
    package var participant: String?
    package var mailbox: FunctionalAddress?

    /// What an audit query names.
    package enum Scope: Sendable, Equatable {
        case node
        case participant(String)
        case mailbox(FunctionalAddress)

        var key: String {
            switch self {
            case .node: "node"
            case .participant(let p): "participant:" + p
            case .mailbox(let a): "mailbox:" + a.description
            }
        }
    }

    /// The index keys: the participant's and the mailbox's, or the node's.
    var keys: [String] {
        guard let participant else { return [Scope.node.key] }
        var out = [Scope.participant(participant).key]
        if let mailbox, mailbox.participant == participant { out.append(Scope.mailbox(mailbox).key) }
        return out
    }

    /// The owner of `event`; `message` reads a message record by id (as the event's fold left it).
    package static func of(_ event: Event, message: (String) throws -> MessageRecord?) rethrows -> AuditOwner {
        let p = event.payload
        if event.subject.hasPrefix("message:"), let r = try message(String(event.subject.dropFirst("message:".count))) {
            return AuditOwner(participant: r.participant, mailbox: r.mailbox)
        }
        let scopeText: String? = switch event.type {
        case AccessEventType.granted, AccessEventType.revoked: p["scope"]?.stringValue
        case AccessEventType.denied: p["resource"]?.stringValue
        default: nil
        }
        if let scopeText {
            switch AccessScope(scopeText) {
            case .participant(let id): return AuditOwner(participant: id)
            case .mailbox(let a): return AuditOwner(participant: a.participant, mailbox: a)
            case .node, nil: return AuditOwner()
            }
        }
        let mailbox = p["mailbox"]?.stringValue.flatMap(FunctionalAddress.init)
        guard let participant = p["participant"]?.stringValue ?? mailbox?.participant, !participant.isEmpty else { return AuditOwner() }
        return AuditOwner(participant: participant, mailbox: mailbox?.participant == participant ? mailbox : nil)
    }
}
