package import Ledger

/// Every event by its owner (``AuditOwner``: a participant, or the node), and by owner and
/// actor, owner and type, and functional mailbox, in seq order: each audit query is a range scan
/// over rows of what the auditor audits only, so no answer — not even where a scan stopped —
/// says anything about another participant's events. Rows are keys only (`<key> 0x00 <seq>`,
/// the key's parts each written with its length, so no identifier can pose as another key),
/// kept with the node's working state because a message's events belong to the message's
/// mailbox, which the message record knows.
package enum AuditIndex {
    static let table = "audit_scope"

    /// What a scan follows. `owner` is a participant id, nil for the node.
    package enum Key: Sendable, Equatable {
        /// Every event of the owner.
        case all(owner: String?)
        /// Every event of one functional mailbox.
        case mailbox(FunctionalAddress)
        /// The owner's events by one actor.
        case actor(String, owner: String?)
        /// The owner's events of one type.
        case type(String, owner: String?)

        var text: String {
            func parts(_ p: String...) -> String { p.map { "\($0.utf8.count):\($0)" }.joined() }
            return switch self {
            case .all(let o): parts("all", o ?? "")
            case .mailbox(let a): parts("mailbox", a.participant, a.function)
            case .actor(let a, let o): parts("actor", o ?? "", a)
            case .type(let t, let o): parts("type", o ?? "", t)
            }
        }
    }

    /// The keys of `event`, whose owner is `owner`. The node's own events get none: only
    /// auditors of the whole node see them, through the node-wide ``EventIndex``.
    static func keys(_ event: Event, owner: AuditOwner) -> [Key] {
        guard owner.participant != nil else { return [] }
        var out: [Key] = [.all(owner: owner.participant), .actor(event.actor, owner: owner.participant), .type(event.type, owner: owner.participant)]
        if let mailbox = owner.mailbox, mailbox.participant == owner.participant { out.append(.mailbox(mailbox)) }
        return out
    }

    /// Writes the rows of `event`, whose owner is `owner`.
    static func index(_ event: Event, owner: AuditOwner, rows: ProjectionRows) throws {
        for key in keys(event, owner: owner) { try rows.put(table, EventIndex.key(key.text, event.seq), []) }
    }

    /// Files the events `seqs` of a message under `new` instead of `old` (an inbound message
    /// refiled to another function of its participant).
    static func move(_ seqs: [UInt64], from old: FunctionalAddress?, to new: FunctionalAddress?, rows: ProjectionRows) throws {
        for seq in seqs {
            if let old { try rows.delete(table, EventIndex.key(Key.mailbox(old).text, seq)) }
            if let new { try rows.put(table, EventIndex.key(Key.mailbox(new).text, seq), []) }
        }
    }

    /// Seqs of the events under `key` with `after < seq <= upTo`, in seq order, at most `limit`.
    package static func seqs(_ key: Key, after: UInt64 = 0, upTo: UInt64 = .max, limit: Int,
                             in storage: any ProjectionStorage) throws -> [UInt64] {
        try EventIndex.seqs(of: key.text, in: NodeStateProjection().name + "." + table, after: after, upTo: upTo, limit: limit, storage: storage)
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
