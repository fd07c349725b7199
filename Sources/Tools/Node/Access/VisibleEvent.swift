package import Ledger
package import Projections

/// A ledger event as one principal may see it: whole for mailbox users and auditors; for the
/// node operator (transport visibility) without the members that carry subjects or content
/// (``redactedMembers``), and then no longer verifiable on its own.
package struct VisibleEvent: Sendable {
    /// Payload members an operator never sees: subjects, case references, texts, attachment names.
    package static let redactedMembers: Set<String> = ["label", "reference", "texts", "attachments", "file_name", "purpose", "case"]

    package let event: Event
    /// The payload as shown (redacted or whole).
    package let payload: JSONValue
    /// The members removed (empty when whole).
    package let redacted: [String]

    package init(_ event: Event, visibility: AccessPolicy.Visibility) {
        self.event = event
        guard visibility == .transport, let o = event.payload.objectValue else {
            payload = event.payload
            redacted = []
            return
        }
        redacted = o.keys.filter { Self.redactedMembers.contains($0) }.sorted()
        payload = .object(o.filter { !Self.redactedMembers.contains($0.key) })
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
