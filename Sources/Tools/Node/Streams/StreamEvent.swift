package import Ledger
package import Projections

/// One ledger event as the streams publish it, prepared once for every subscriber: its public
/// type, the message and mailbox it concerns (from the persisted projection), and its CloudEvent
/// rendered once for each visibility (``cloudEvent(for:)``). Subscribers decide only whether they
/// may see it and which rendering; no JSON is produced per subscriber.
///
/// A `grantsChanged` entry carries no frame: it tells subscribers that an `access.granted` or
/// `access.revoked` event passed, so the grants they evaluate must be read again.
///
/// A class, immutable: a thousand subscribers reading a page hold the same entries, each shared
/// by one reference rather than copied field by field.
package final class StreamEvent: Sendable {
    package enum Kind: Sendable {
        case published(PublicEventType)
        case grantsChanged
    }

    package let seq: UInt64
    package let time: Timestamp
    package let kind: Kind
    /// The message's participant and mailbox (nil mailbox: filed under none).
    package let participant: String
    package let mailbox: FunctionalAddress?
    /// The SSE frame (`id:` the seq, `event:` the type, `data:` the CloudEvent, a blank line) for
    /// a subscriber who sees the message whole (read right), for auditors (no subject or
    /// reference of a confidential message) and for the operator (transport members only).
    /// Auditors of a message that is not confidential share the whole one. Whole frames, so a
    /// subscriber's delivery is a copy of bytes.
    private let full: [UInt8]
    private let audit: [UInt8]
    private let transport: [UInt8]
    /// The length of the frame's head (`id: …\nevent: …\ndata: `).
    private let head: Int

    private func frame(_ visibility: AccessPolicy.Visibility) -> [UInt8] {
        switch visibility {
        case .full: full
        case .audit: audit
        case .transport: transport
        case .none: []
        }
    }

    private init(seq: UInt64, time: Timestamp, kind: Kind, participant: String, mailbox: FunctionalAddress?,
                 full: [UInt8], audit: [UInt8], transport: [UInt8], head: Int) {
        self.seq = seq
        self.time = time
        self.kind = kind
        self.participant = participant
        self.mailbox = mailbox
        self.full = full
        self.audit = audit
        self.transport = transport
        self.head = head
    }

    /// The CloudEvent JSON for a subscriber who sees the message with `visibility` (empty for `.none`).
    package func cloudEvent(for visibility: AccessPolicy.Visibility) -> [UInt8] {
        let f = frame(visibility)
        return f.isEmpty ? [] : Array(f[head..<(f.count - 2)])
    }

    /// Appends the SSE frame for `visibility` to `out`.
    package func appendFrame(for visibility: AccessPolicy.Visibility, to out: inout [UInt8]) {
        out += frame(visibility)
    }

    /// The length of the SSE frame for `visibility`.
    package func frameLength(for visibility: AccessPolicy.Visibility) -> Int { frame(visibility).count }

    /// The public type, when the entry is published.
    package var type: PublicEventType? {
        if case .published(let t) = kind { return t }
        return nil
    }

    static func grantsChanged(_ event: Event) -> StreamEvent {
        StreamEvent(seq: event.seq, time: event.time, kind: .grantsChanged, participant: "", mailbox: nil,
                    full: [], audit: [], transport: [], head: 0)
    }

    /// Prepares `event`: nil when it is neither published nor a grant change (or is not one of
    /// the events of a message the projection holds). `message` reads a record from the projection.
    static func prepare(_ event: Event, source: String, message: (String) throws -> MessageRecord?) throws -> StreamEvent? {
        if event.type == AccessEventType.granted || event.type == AccessEventType.revoked { return .grantsChanged(event) }
        guard let type = PublicEventType(event), event.subject.hasPrefix("message:") else { return nil }
        let id = String(event.subject.dropFirst("message:".count))
        // Only events folded into the message: the same answer whenever the entry is prepared
        // (a record's events only grow), so a subscriber resuming from the ledger sees what one
        // reading the window saw.
        guard var record = try message(id), record.eventSeqs.contains(event.seq) else { return nil }
        if type == .messageReceived {
            // The message as it stood when it arrived, before it was opened: its mailbox and
            // addresses from the AS4 level; subject, reference, conversation and confidentiality
            // are known only from the opening (`message.receipt.sent`) on. So the same event reads
            // the same however late it is prepared.
            let p = event.payload
            record.to = p["to"]?.stringValue.flatMap(FunctionalAddress.init)
            record.from = p["from"]?.stringValue.flatMap(FunctionalAddress.init)
            record.label = nil
            record.reference = nil
            record.conversation = nil
            record.confidential = false
        }
        let head = Array("id: \(event.seq)\nevent: \(type.rawValue)\ndata: ".utf8)
        let full = head + render(event, type, record, source: source, subjectLine: true) + [0x0A, 0x0A]
        let transport = head + render(event, type, record, source: source, subjectLine: false) + [0x0A, 0x0A]
        let audit = record.confidential ? transport : full
        return StreamEvent(seq: event.seq, time: event.time, kind: .published(type), participant: record.participant,
                           mailbox: record.mailbox, full: full, audit: audit, transport: transport, head: head.count)
    }

    /// The CloudEvent (structured mode, JSON): metadata and links, never content. The subject line
    /// and the reference only with `subjectLine`.
    private static func render(_ event: Event, _ type: PublicEventType, _ r: MessageRecord, source: String, subjectLine: Bool) -> [UInt8] {
        let p = event.payload
        var data: [String: JSONValue] = [
            "message_id": .string(r.id), "participant": .string(r.participant), "direction": .string(r.direction.rawValue),
            "links": ["message": .string("/v1/messages/\(Self.percentEncoded(r.id))"),
                      "trace": .string("/v1/messages/\(Self.percentEncoded(r.id))/trace")],
        ]
        if let m = r.mailbox { data["mailbox"] = .string(m.description) }
        if let f = r.from { data["from"] = .string(f.description) }
        if let t = r.to { data["to"] = .string(t.description) }
        if let c = r.conversation { data["conversation_id"] = .string(c) }
        if let s = type.status(event) { data["status"] = .string(s) }
        if subjectLine {
            if let l = r.label { data["label"] = .string(l) }
            if let ref = r.reference { data["reference"] = .string(ref) }
        }
        switch type {
        case .receiptReceived, .receiptSent:
            data["receipt_status"] = .string(p["status"]?.stringValue == "ACCEPTED" ? "ACCEPTED" : "REJECTED")
            if let id = p["receipt_id"]?.stringValue { data["receipt_id"] = .string(id) }
        case .deliveryFailed:
            data["kind"] = .string(p["kind"]?.stringValue ?? "message")
            if let code = p["reason"]?["code"]?.stringValue { data["reason_code"] = .string(code) }
            if let n = p["attempts"]?.intValue { data["attempts"] = .int(n) }
        case .messageAccessed:
            data["actor"] = .string(event.actor)
            if let part = p["part"]?.stringValue { data["part"] = .string(part) }
            if let n = p["attachment"]?.intValue { data["attachment"] = .int(n) }
            if let i = p["interface"]?.stringValue { data["interface"] = .string(i) }
        case .messageSubmitted, .messageDelivered, .messageReceived:
            break
        }
        let cloudEvent: JSONValue = [
            "specversion": "1.0", "id": .string(String(event.seq)), "source": .string(source), "type": .string(type.rawValue),
            "subject": .string(r.id), "time": .string(event.time.rfc3339), "datacontenttype": "application/json",
            "dataschema": .string("urn:kvitto:events:data:\(PublicEventType.dataVersion)"),
            "sequence": .string(String(event.seq)), "data": .object(data),
        ]
        return CanonicalJSON.encode(cloudEvent)
    }

    /// `text` with every byte but the unreserved ones of RFC 3986 percent-encoded (one path
    /// segment, or the tail of a URN).
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
