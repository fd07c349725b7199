package import Ledger

/// One participant's messages, their events and their content from the persisted working state, with no
/// authorisation and no audit: for the node's own checks and tests on the host. Every interface
/// for people and systems reads through `MessageAccess` (grants, audit-first) instead. A message
/// of another participant is reported as not found, like a message that does not exist.
package struct ParticipantView: Sendable {
    package let projections: ProjectionEngine
    package let participant: String

    package init(projections: ProjectionEngine, participant: String) {
        self.projections = projections
        self.participant = participant
    }

    private var ledger: Ledger { projections.ledger }

    /// The participant's messages (optionally only one functional mailbox), newest first.
    package func messages(mailbox: FunctionalAddress? = nil) throws -> [MessageRecord] {
        try projections.catchUp()
        return try NodeStateProjection.messages(in: projections.storage) { r in
            guard r.participant == participant else { return false }
            guard let mailbox else { return true }
            return (r.direction == .outbound ? r.from : r.to) == mailbox
        }.sorted { ($0.eventSeqs.first ?? 0) > ($1.eventSeqs.first ?? 0) }
    }

    /// The message `id`, if it is this participant's.
    package func message(_ id: String) throws -> MessageRecord? {
        try projections.currentNodeState { try $0.message(id) }.flatMap { $0.participant == participant ? $0 : nil }
    }

    /// The ledger events of message `id`, in order, if it is this participant's.
    package func trace(_ id: String) throws -> [Event]? {
        guard let record = try message(id) else { return nil }
        var events: [Event] = []
        for seq in record.eventSeqs {
            if let e = try ledger.event(seq) { events.append(e) }
        }
        // Erasures of content these events reference belong to the message's history too.
        let erasedSeqs = try projections.currentNodeState { state in
            Set(try events.flatMap { e in try BlobReferences.find(in: e.payload).compactMap { try state.erasure(of: $0.sha256) } })
        }
        for seq in erasedSeqs.sorted() {
            if let e = try ledger.event(seq) { events.append(e) }
        }
        return events.sorted { $0.seq < $1.seq }
    }

    /// The bytes of a blob referenced by one of this participant's messages (content, attachment
    /// or evidence); nil for any other blob.
    package func blob(_ hash: Digest32) throws -> [UInt8]? {
        let owned = try messages().contains { r in
            r.sdkMessage?.sha256 == hash || r.attachments.contains(where: { $0.blob.sha256 == hash })
        }
        if !owned {
            guard try trace(containing: hash) else { return nil }
        }
        return try ledger.blobs.read(hash)
    }

    /// Whether an event of one of this participant's messages references `hash` anywhere in its payload.
    private func trace(containing hash: Digest32) throws -> Bool {
        let hex = hash.hex
        for r in try messages() {
            for e in try trace(r.id) ?? [] where Self.mentions(e.payload, hex) { return true }
        }
        return false
    }

    private static func mentions(_ v: JSONValue, _ hex: String) -> Bool {
        switch v {
        case .string(let s): s == hex
        case .array(let a): a.contains { mentions($0, hex) }
        case .object(let o): o.values.contains { mentions($0, hex) }
        default: false
        }
    }
}
