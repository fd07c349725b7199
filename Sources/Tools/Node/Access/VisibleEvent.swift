package import Ledger
package import Projections

/// A ledger event as one principal may see it: whole for mailbox users; for auditors whole except
/// the subject of a confidential message; for the node operator (transport visibility) only the
/// members that describe transport (``operatorMembers``) — no subject, reference, text, attachment
/// name, content summary or internal detail — and then no longer verifiable on its own.
package struct VisibleEvent: Sendable {
    /// The payload members an operator sees (a keep-list: a member added to an event later stays
    /// hidden until it is listed here). `reason` only when it is a `{code, detail}` object.
    package static let operatorMembers: Set<String> = [
        "participant", "as4_message_id", "kind", "attempt", "attempts", "endpoint", "signal_message_id", "receipt", "reason",
        "errors", "response", "next_attempt_at", "from", "to", "addressed_function", "from_party", "original_sender",
        "conversation_id", "status", "receipt_id", "xhe", "soap", "sdk_message", "dispatch", "confidential", "submission_id",
        "message", "mailbox", "part", "attachment", "blob", "interface", "action", "resource", "coalesced", "coalesced_since",
        "rule", "size", "grant", "scope", "grantee", "rights", "valid_from", "valid_until", "transport", "xhe_id", "recipient_message_id",
    ]
    /// What an auditor does not see of a confidential message: its subject, its reference, the
    /// names of its attachments, and the content summary of a Meddelandekvittens event that
    /// repeats them.
    package static let confidentialMembers: Set<String> = ["label", "content", "reference", "attachments", "file_name", "texts"]

    package let event: Event
    /// The payload as shown (redacted or whole).
    package let payload: JSONValue
    /// The members removed (empty when whole).
    package let redacted: [String]

    package init(_ event: Event, visibility: AccessPolicy.Visibility, confidential: Bool) {
        self.event = event
        guard let o = event.payload.objectValue, visibility != .full else {
            payload = event.payload
            redacted = []
            return
        }
        let keep: (String, JSONValue) -> Bool
        switch visibility {
        case .audit:
            keep = { key, _ in !confidential || !Self.confidentialMembers.contains(key) }
        default:
            keep = { key, value in
                guard Self.operatorMembers.contains(key) else { return false }
                return key != "reason" || value.objectValue != nil
            }
        }
        let kept = o.filter { keep($0.key, $0.value) }
        redacted = o.keys.filter { kept[$0] == nil }.sorted()
        payload = redacted.isEmpty ? event.payload : .object(kept)
    }

    /// The redacted envelope as JSON (`payload` redacted, `"redacted": [...]`), or nil when the
    /// event is whole (print the event itself then).
    package var redactedJSON: JSONValue? {
        guard !redacted.isEmpty else { return nil }
        return [
            "seq": .int(Int64(event.seq)), "time": .string(event.time.rfc3339), "type": .string(event.type),
            "subject": .string(event.subject), "actor": .string(event.actor), "payload": payload,
            "redacted": .array(redacted.map { .string($0) }),
        ]
    }
}
