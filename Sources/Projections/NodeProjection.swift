package import Ledger

/// The node's working state, folded from its ledger in seq order: mailboxes (message records per
/// participant), the outbound retry schedule (dispatch records), inbound duplicate detection and
/// receipt correlation, and the address book. The fold is deterministic, so dropping it and
/// replaying the ledger gives the same state; ``appliedSeq`` says how far it has read.
package struct NodeProjection: Sendable, Equatable {
    /// What the node knows about an inbound AS4 MessageId.
    package struct Inbound: Sendable, Equatable {
        package var messageId: String
        /// The signed AS4 receipt we answered with (a resend gets the same bytes).
        package var receipt: BlobRef?
    }

    /// An inbound message refused at the AS4 layer (`message.rejected`).
    package struct Rejection: Sendable, Equatable {
        package var seq: UInt64
        package var participant: String?
        package var as4MessageId: String?
        package var code: String
        package var detail: String
    }

    package private(set) var appliedSeq: UInt64 = 0
    package private(set) var messages: [String: MessageRecord] = [:]
    package private(set) var dispatches: [String: DispatchRecord] = [:]
    package private(set) var inbound: [String: Inbound] = [:]
    package private(set) var rejections: [Rejection] = []
    package private(set) var addressBook = AddressBook()
    /// Erased blobs → the seq of the first `blob.erased` event naming them.
    package private(set) var erasures: [Digest32: UInt64] = [:]
    /// AS4 MessageIds of dispatches still pending (the retry schedule's working set).
    package private(set) var pending: Set<String> = []
    /// Inbound messages stored but not yet answered with a Meddelandekvittens.
    package private(set) var unansweredIDs: Set<String> = []
    /// Submission requests (from `kvitto send` while the node runs) already turned into messages.
    package private(set) var submissions: [String: String] = [:]

    package init() {}

    /// Dispatches whose next attempt is due at `now`, oldest first.
    package func dueDispatches(at now: Timestamp) -> [DispatchRecord] {
        pending.compactMap { dispatches[$0] }.filter { $0.isDue(at: now) }.sorted { $0.createdSeq < $1.createdSeq }
    }

    /// The earliest future retry time, for the scheduler's sleep.
    package var nextRetryAt: Timestamp? {
        pending.compactMap { dispatches[$0] }.filter { $0.attemptsStarted == $0.attemptsFinished }
            .compactMap(\.nextAttemptAt).min()
    }

    /// Inbound messages stored but not yet answered with a Meddelandekvittens.
    package var unanswered: [MessageRecord] {
        unansweredIDs.compactMap { messages[$0] }.sorted { $0.eventSeqs.first ?? 0 < $1.eventSeqs.first ?? 0 }
    }

    package mutating func apply(_ event: Event) {
        precondition(event.seq == appliedSeq + 1, "projection fold out of order")
        appliedSeq = event.seq
        let p = event.payload
        if event.type.hasPrefix("addressbook.") {
            addressBook.apply(event)
            return
        }
        if event.type == NodeEventType.blobErased {
            if let hex = p["blob"]?.stringValue, let hash = Digest32(hex: hex), erasures[hash] == nil { erasures[hash] = event.seq }
            return
        }
        let messageId = event.subject.hasPrefix("message:") ? String(event.subject.dropFirst(8)) : nil
        func touch(_ id: String, _ body: (inout MessageRecord) -> Void) {
            guard var r = messages[id] else { return }
            r.eventSeqs.append(event.seq)
            body(&r)
            messages[id] = r
        }
        func dispatch(_ body: (inout DispatchRecord) -> Void) -> DispatchRecord? {
            guard let id = p["as4_message_id"]?.stringValue, var d = dispatches[id] else { return nil }
            body(&d)
            dispatches[id] = d
            return d
        }
        let attempt = Int(p["attempt"]?.intValue ?? 0)
        defer {
            if let id = p["as4_message_id"]?.stringValue, let d = dispatches[id] {
                if d.outcome == .pending { pending.insert(id) } else { pending.remove(id) }
            }
            if let messageId, let r = messages[messageId], r.direction == .inbound {
                if r.status == .received { unansweredIDs.insert(messageId) } else { unansweredIDs.remove(messageId) }
            }
        }
        switch event.type {
        case NodeEventType.submitted:
            guard let messageId, let participant = p["participant"]?.stringValue else { return }
            var r = MessageRecord(id: messageId, participant: participant, direction: .outbound, status: .submitted, createdAt: event.time)
            r.eventSeqs = [event.seq]
            r.from = p["from"]?.stringValue.flatMap(FunctionalAddress.init)
            r.to = p["to"]?.stringValue.flatMap(FunctionalAddress.init)
            r.label = p["label"]?.stringValue
            r.confidential = p["confidential"]?.boolValue ?? false
            r.sdkMessage = BlobField.parse(p["sdk_message"])
            r.xhe = BlobField.parse(p["xhe"])
            r.attachments = MessageRecord.attachments(p["attachments"])
            if var d = DispatchRecord(json: p["dispatch"], messageId: messageId, participant: participant) {
                d.createdSeq = event.seq
                r.as4MessageId = d.as4MessageId
                dispatches[d.as4MessageId] = d
                pending.insert(d.as4MessageId)
            }
            messages[messageId] = r
            if let s = p["submission_id"]?.stringValue { submissions[s] = messageId }
        case NodeEventType.dispatched:
            if let d = dispatch({ $0.attemptsStarted = max($0.attemptsStarted, attempt + 1) }), d.kind == .message {
                touch(d.messageId) { $0.advance(to: .dispatched) }
            } else if let messageId { touch(messageId) { _ in } }
        case NodeEventType.transportReceiptReceived:
            if let d = dispatch({ $0.attemptsFinished = max($0.attemptsFinished, attempt + 1); $0.outcome = .delivered; $0.nextAttemptAt = nil }),
               d.kind == .message {
                touch(d.messageId) { $0.advance(to: .delivered) }
            } else if let messageId { touch(messageId) { _ in } }
        case NodeEventType.transportErrorReceived, NodeEventType.attemptFailed:
            let reason = p["reason"]
            let text = [reason?["code"]?.stringValue, reason?["detail"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            _ = dispatch {
                $0.attemptsFinished = max($0.attemptsFinished, attempt + 1)
                $0.nextAttemptAt = p["next_attempt_at"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
                $0.lastError = text
            }
            if let messageId { touch(messageId) { _ in } }
        case NodeEventType.deliveryFailed:
            let code = p["reason"]?["code"]?.stringValue ?? "?"
            let detail = p["reason"]?["detail"]?.stringValue ?? ""
            if let d = dispatch({ $0.outcome = .failed(code: code, detail: detail); $0.nextAttemptAt = nil }), d.kind == .message {
                touch(d.messageId) { $0.status = .failed; $0.failure = "\(code) \(detail)" }
            } else if let messageId { touch(messageId) { _ in } }
        case NodeEventType.received:
            guard let messageId, let participant = p["participant"]?.stringValue, let as4 = p["as4_message_id"]?.stringValue else { return }
            var r = MessageRecord(id: messageId, participant: participant, direction: .inbound, status: .received, createdAt: event.time)
            r.eventSeqs = [event.seq]
            r.as4MessageId = as4
            r.from = p["from"]?.stringValue.flatMap(FunctionalAddress.init)
            r.to = p["to"]?.stringValue.flatMap(FunctionalAddress.init)
            r.xhe = BlobField.parse(p["xhe"])
            messages[messageId] = r
            inbound[as4] = Inbound(messageId: messageId, receipt: nil)
        case NodeEventType.transportReceiptSent:
            if let as4 = p["as4_message_id"]?.stringValue, inbound[as4] != nil {
                inbound[as4]?.receipt = BlobField.parse(p["receipt"])
            }
            if let messageId { touch(messageId) { _ in } }
        case NodeEventType.receiptSent:
            guard let messageId, let participant = p["participant"]?.stringValue else { return }
            var d = DispatchRecord(json: p["dispatch"], messageId: messageId, participant: participant)
            d?.createdSeq = event.seq
            if let d {
                dispatches[d.as4MessageId] = d
                pending.insert(d.as4MessageId)
            }
            touch(messageId) { r in
                let verdict = MessageRecord.Verdict.parse(p)
                r.verdict = verdict
                r.status = verdict.status == "ACCEPTED" ? .accepted : .rejected
                r.receiptDispatch = d?.as4MessageId
                if let content = p["content"] {
                    r.sdkMessage = BlobField.parse(content["sdk_message"])
                    r.attachments = MessageRecord.attachments(content["attachments"])
                    r.label = content["label"]?.stringValue
                    r.from = content["from"]?.stringValue.flatMap(FunctionalAddress.init) ?? r.from
                    r.to = content["to"]?.stringValue.flatMap(FunctionalAddress.init) ?? r.to
                    r.confidential = content["confidential"]?.boolValue ?? false
                }
            }
        case NodeEventType.receiptReceived:
            if let as4 = p["as4_message_id"]?.stringValue, let messageId {
                inbound[as4] = Inbound(messageId: messageId, receipt: nil)
            }
            guard let messageId else { return }
            touch(messageId) { r in
                let verdict = MessageRecord.Verdict.parse(p)
                r.verdict = verdict
                r.status = verdict.status == "ACCEPTED" ? .accepted : .rejected
            }
        case NodeEventType.rejected:
            rejections.append(Rejection(seq: event.seq, participant: p["participant"]?.stringValue,
                                        as4MessageId: p["as4_message_id"]?.stringValue,
                                        code: p["reason"]?["code"]?.stringValue ?? "?",
                                        detail: p["reason"]?["detail"]?.stringValue ?? ""))
        default:
            if let messageId { touch(messageId) { _ in } }
        }
    }
}
