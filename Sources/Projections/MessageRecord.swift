package import Ledger

/// Where a message stands, as a functional mailbox shows it.
package enum MessageStatus: String, Sendable, Comparable {
    /// Outbound: accepted by the node, not yet sent.
    case submitted
    /// Outbound: at least one AS4 attempt made, no receipt yet.
    case dispatched
    /// Outbound: the recipient's access point returned a valid signed AS4 receipt, or the node
    /// handed the message to a participant it serves.
    case delivered
    /// Inbound: stored; the Meddelandekvittens is not issued yet.
    case received
    /// Accepted by the recipient (outbound) or by us (inbound) in a Meddelandekvittens.
    case accepted
    /// Rejected in a Meddelandekvittens.
    case rejected
    /// Outbound: not delivered (retries exhausted, or refused by the recipient's access point).
    case failed

    private var rank: Int {
        switch self {
        case .submitted: 0
        case .dispatched: 1
        case .received: 1
        case .delivered: 2
        case .accepted, .rejected, .failed: 3
        }
    }

    package static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// One message in one participant's mailbox, folded from the events with subject
/// `message:<id>`; the id is the SDK message id (= XHE ID), except for the recipient's record of a
/// message delivered inside the node (``NodeEventType/internalCopy(of:)``).
package struct MessageRecord: Sendable, Equatable {
    package enum Direction: String, Sendable { case outbound, inbound }

    /// A Meddelandekvittens verdict.
    package struct Verdict: Sendable, Equatable {
        package var status: String
        package var lines: [Line]
        package var receiptID: String?

        package struct Line: Sendable, Equatable {
            package var code: String
            package var lineID: String
            package var reason: String
        }

        static func parse(_ p: JSONValue) -> Verdict {
            Verdict(status: p["status"]?.stringValue ?? "?",
                    lines: (p["lines"]?.arrayElements ?? []).map {
                        Line(code: $0["code"]?.stringValue ?? "?", lineID: $0["line_id"]?.stringValue ?? "NA",
                             reason: $0["reason"]?.stringValue ?? "")
                    },
                    receiptID: p["receipt_id"]?.stringValue)
        }
    }

    package struct Attachment: Sendable, Equatable {
        package var fileName: String
        package var contentType: String
        package var blob: BlobRef
    }

    package var id: String
    package var participant: String
    package var direction: Direction
    package var status: MessageStatus
    package var from: FunctionalAddress?
    package var to: FunctionalAddress?
    package var label: String?
    package var confidential = false
    package var createdAt: Timestamp
    /// Every event of this message in this ledger, in order.
    package var eventSeqs: [UInt64] = []
    /// The AS4 MessageId of the business message (outbound: ours; inbound: the sender's).
    package var as4MessageId: String?
    /// Outbound: the recipient's verdict; inbound: ours.
    package var verdict: Verdict?
    /// Outbound: why it failed.
    package var failure: String?
    /// The XHE as sent or received (signed, payload encrypted).
    package var xhe: BlobRef?
    /// The SDK message in the blob store (encrypted at rest when ``contentKey`` is set).
    package var sdkMessage: BlobRef?
    package var attachments: [Attachment] = []
    /// The wrapped data key when the content and attachments are encrypted at rest (their blob
    /// references are then the ciphertexts'); nil when they are stored as they are.
    package var contentKey: ContentKeyRef?
    /// Inbound: our Meddelandekvittens's AS4 MessageId.
    package var receiptDispatch: String?
    /// The SDK conversation the message belongs to (its header's `conversationId`; a new
    /// outbound message starts its own, named by its id). Nil for an inbound message not yet opened.
    package var conversation: String?
    /// The case or reference number the sender gave (the recipient attention's first reference).
    package var reference: String?

    package init(id: String, participant: String, direction: Direction, status: MessageStatus, createdAt: Timestamp) {
        self.id = id
        self.participant = participant
        self.direction = direction
        self.status = status
        self.createdAt = createdAt
    }

    /// Whether the message went between two participants of this node, without an AS4 hop
    /// (`transport: internal` in its events): then it has no AS4 MessageId.
    package var isInternal: Bool { as4MessageId == nil }

    /// The functional mailbox the message belongs to: the sender's for outbound, the
    /// recipient's for inbound.
    package var mailbox: FunctionalAddress? { direction == .outbound ? from : to }

    /// Raises the status, never lowers it (a late transport receipt after the Meddelandekvittens
    /// leaves the message accepted).
    mutating func advance(to s: MessageStatus) {
        if status < s || (status == s) { status = s }
    }

    /// The size of the content `blob` holds: the plaintext's when it is encrypted at rest.
    package func contentSize(_ blob: BlobRef) -> Int64 {
        guard contentKey != nil else { return blob.size }
        return SealedBlobFormat.plaintextSize(ofSealed: blob.size) ?? blob.size
    }

    static func attachments(_ value: JSONValue?) -> [Attachment] {
        (value?.arrayElements ?? []).compactMap { a in
            guard let name = a["file_name"]?.stringValue, let blob = BlobField.parse(a["blob"]) else { return nil }
            return Attachment(fileName: name, contentType: a["content_type"]?.stringValue ?? "application/octet-stream", blob: blob)
        }
    }
}

/// Where a message's wrapped data key is (``WrappedDataKey``) and which key-encryption key wrapped
/// it: the `content_encryption` member of its events, `{"scheme", "key": blob, "kek": id,
/// "key_check": hex}`.
package struct ContentKeyRef: Sendable, Equatable {
    package var blob: BlobRef
    package var kek: String
    /// The data key's commitment (``DataKey/check``); not kept in the projections (only the
    /// events need it), so empty in a record read from them.
    package var check = ""

    package init(blob: BlobRef, kek: String, check: String = "") {
        self.blob = blob
        self.kek = kek
        self.check = check
    }

    /// The only scheme: ``SealedBlobFormat`` content under a ``WrappedDataKey``.
    package static let scheme = "kvitto-sealed-v1"

    package var json: JSONValue {
        ["scheme": .string(Self.scheme), "key": BlobField.json(blob), "kek": .string(kek), "key_check": .string(check)]
    }

    /// Nil when absent; a member with another scheme, or one whose key reference cannot be read,
    /// is kept as an unreadable key (reads of the content fail), never as plaintext content.
    package static func parse(_ value: JSONValue?) -> ContentKeyRef? {
        guard let value, value != .null else { return nil }
        guard let blob = BlobField.parse(value["key"]) else { return ContentKeyRef(blob: BlobRef(sha256: .zero, size: 0), kek: "unsupported") }
        let kek = value["scheme"]?.stringValue == scheme ? value["kek"]?.stringValue ?? "" : "unsupported"
        return ContentKeyRef(blob: blob, kek: kek)
    }

    /// The `content_encryption` member `{"scheme", "key", "kek", "key_check"}` of an event.
    package static func json(blob: BlobRef, kek: String, check: String) -> JSONValue {
        ContentKeyRef(blob: blob, kek: kek, check: check).json
    }
}
