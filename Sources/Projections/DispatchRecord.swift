package import Ledger

/// One outbound AS4 message (a business message or a Meddelandekvittens) and its reception
/// awareness, folded from the events that name its AS4 MessageId. This is the retry schedule:
/// everything needed to send it again — the sealed wire message as blobs, the endpoint, the
/// recipient's certificate and the retry policy — is in the ledger.
package struct DispatchRecord: Sendable, Equatable {
    package enum Kind: String, Sendable { case message, receipt }

    package enum Outcome: Sendable, Equatable {
        case pending
        case delivered
        case failed(code: String, detail: String)
    }

    package struct WireAttachment: Sendable, Equatable {
        package var contentID: String
        package var contentType: String
        package var blob: BlobRef

        package init(contentID: String, contentType: String, blob: BlobRef) {
            self.contentID = contentID
            self.contentType = contentType
            self.blob = blob
        }
    }

    /// Retries after the first attempt, the base interval and CONSTANT or EXPONENTIAL.
    package struct Policy: Sendable, Equatable {
        package var retries: Int
        package var intervalMilliseconds: Int64
        package var strategy: String

        package init(retries: Int, intervalMilliseconds: Int64, strategy: String) {
            self.retries = retries
            self.intervalMilliseconds = intervalMilliseconds
            self.strategy = strategy
        }
    }

    package var as4MessageId: String
    package var messageId: String
    package var participant: String
    package var kind: Kind
    package var endpoint: String
    /// The recipient access point's AS4 certificate (DER) in the blob store.
    package var recipientCertificate: BlobRef
    /// The recipient organisation's O2O certificate (DER) the XHE was sealed for (absent in
    /// dispatches recorded before it was kept).
    package var recipientO2OCertificate: BlobRef?
    package var soap: BlobRef
    package var attachments: [WireAttachment]
    /// The references the sealed message signed (the receipt's non-repudiation information must
    /// repeat them), as `{uri, transforms, inclusive_prefixes, digest_method, digest}` objects.
    package var signedReferences: [JSONValue]
    package var policy: Policy
    /// Attempts begun (`message.dispatched` events).
    package var attemptsStarted = 0
    /// Attempts with a recorded outcome.
    package var attemptsFinished = 0
    /// When the next attempt is due; nil before the first attempt (due at once) or when final.
    package var nextAttemptAt: Timestamp?
    package var outcome: Outcome = .pending
    package var lastError: String?
    /// The seq of the event that created it (for first-come, first-served scheduling).
    package var createdSeq: UInt64 = 0

    /// Whether an attempt should start at `now`: pending, and either never tried, interrupted
    /// (begun without an outcome — the process stopped mid-attempt), or its retry time has come.
    package func isDue(at now: Timestamp) -> Bool {
        guard outcome == .pending else { return false }
        if attemptsStarted == 0 || attemptsStarted > attemptsFinished { return true }
        guard let next = nextAttemptAt else { return false }
        return next <= now
    }

    package var json: JSONValue {
        [
            "as4_message_id": .string(as4MessageId), "kind": .string(kind.rawValue), "endpoint": .string(endpoint),
            "recipient_certificate": BlobField.json(recipientCertificate), "soap": BlobField.json(soap),
            "attachments": .array(attachments.map {
                ["content_id": .string($0.contentID), "content_type": .string($0.contentType), "blob": BlobField.json($0.blob)]
            }),
            "signed_references": .array(signedReferences),
            "recipient_o2o_certificate": recipientO2OCertificate.map(BlobField.json) ?? .null,
            "retry": ["retries": .int(Int64(policy.retries)), "interval_ms": .int(policy.intervalMilliseconds),
                      "strategy": .string(policy.strategy)],
        ]
    }

    package init(as4MessageId: String, messageId: String, participant: String, kind: Kind, endpoint: String,
                 recipientCertificate: BlobRef, soap: BlobRef, attachments: [WireAttachment], signedReferences: [JSONValue],
                 policy: Policy) {
        self.as4MessageId = as4MessageId
        self.messageId = messageId
        self.participant = participant
        self.kind = kind
        self.endpoint = endpoint
        self.recipientCertificate = recipientCertificate
        self.soap = soap
        self.attachments = attachments
        self.signedReferences = signedReferences
        self.policy = policy
    }

    /// Reads the `dispatch` member of `message.submitted` / `message.receipt.sent`.
    init?(json d: JSONValue?, messageId: String, participant: String) {
        guard let d, let id = d["as4_message_id"]?.stringValue, let kind = d["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
              let endpoint = d["endpoint"]?.stringValue, let cert = BlobField.parse(d["recipient_certificate"]),
              let soap = BlobField.parse(d["soap"]), let retry = d["retry"],
              let retries = retry["retries"]?.intValue, let interval = retry["interval_ms"]?.intValue,
              let strategy = retry["strategy"]?.stringValue else { return nil }
        var attachments: [WireAttachment] = []
        for a in d["attachments"]?.arrayElements ?? [] {
            guard let cid = a["content_id"]?.stringValue, let type = a["content_type"]?.stringValue,
                  let blob = BlobField.parse(a["blob"]) else { return nil }
            attachments.append(WireAttachment(contentID: cid, contentType: type, blob: blob))
        }
        self.init(as4MessageId: id, messageId: messageId, participant: participant, kind: kind, endpoint: endpoint,
                  recipientCertificate: cert, soap: soap, attachments: attachments,
                  signedReferences: d["signed_references"]?.arrayElements ?? [], policy: Policy(retries: Int(retries), intervalMilliseconds: interval, strategy: strategy))
        recipientO2OCertificate = BlobField.parse(d["recipient_o2o_certificate"])
    }

    /// Takes the wire message of `fresh` (the same AS4 message sealed again): endpoint,
    /// certificates, SOAP, attachments and signed references; the schedule stays as it is.
    package mutating func takeWire(of fresh: DispatchRecord) {
        endpoint = fresh.endpoint
        recipientCertificate = fresh.recipientCertificate
        recipientO2OCertificate = fresh.recipientO2OCertificate
        soap = fresh.soap
        attachments = fresh.attachments
        signedReferences = fresh.signedReferences
    }
}
