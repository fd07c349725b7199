package import Ledger

/// The rows the node's working state is made of, wherever they are kept: in memory
/// (``NodeProjection``) or persisted (``NodeStateProjection``). ``NodeFold`` folds events into
/// either through this protocol, so both hold the same state by construction.
package protocol NodeStateRows {
    /// What reading or writing a row may throw (`Never` in memory).
    associatedtype Failure: Error

    func message(_ id: String) throws(Failure) -> MessageRecord?
    mutating func putMessage(_ r: MessageRecord) throws(Failure)
    func dispatch(_ as4MessageId: String) throws(Failure) -> DispatchRecord?
    mutating func putDispatch(_ d: DispatchRecord) throws(Failure)
    func inbound(_ as4MessageId: String) throws(Failure) -> NodeProjection.Inbound?
    mutating func putInbound(_ as4MessageId: String, _ i: NodeProjection.Inbound) throws(Failure)
    /// Marks a dispatch as part of the retry schedule's working set, or not.
    mutating func setPending(_ as4MessageId: String, _ pending: Bool) throws(Failure)
    /// Marks an inbound message as waiting for its Meddelandekvittens, or not.
    mutating func setUnanswered(_ messageId: String, _ unanswered: Bool) throws(Failure)
    mutating func addRejection(_ r: NodeProjection.Rejection) throws(Failure)
    mutating func putSubmission(_ submissionID: String, message: String) throws(Failure)
    func erasure(_ blob: Digest32) throws(Failure) -> UInt64?
    mutating func putErasure(_ blob: Digest32, seq: UInt64) throws(Failure)
    /// Applies an `addressbook.*` event to the address book.
    mutating func applyToAddressBook(_ event: Event) throws(Failure)
}

/// The fold of the node's working state: one event at a time, in seq order, into any
/// ``NodeStateRows``. Deterministic: a function of the event and the rows.
package enum NodeFold {
    package static func apply<R: NodeStateRows>(_ event: Event, to rows: inout R) throws(R.Failure) {
        let p = event.payload
        if event.type.hasPrefix("addressbook.") {
            try rows.applyToAddressBook(event)
            return
        }
        if event.type == NodeEventType.blobErased {
            if let hex = p["blob"]?.stringValue, let hash = Digest32(hex: hex), try rows.erasure(hash) == nil {
                try rows.putErasure(hash, seq: event.seq)
            }
            return
        }
        let messageId = event.subject.hasPrefix("message:") ? String(event.subject.dropFirst(8)) : nil
        let attempt = Int(p["attempt"]?.intValue ?? 0)
        try fold(event, messageId: messageId, attempt: attempt, into: &rows)
        // The working sets follow the records' final state.
        if let id = p["as4_message_id"]?.stringValue, let d = try rows.dispatch(id) {
            try rows.setPending(id, d.outcome == .pending)
        }
        if let messageId, let r = try rows.message(messageId), r.direction == .inbound {
            try rows.setUnanswered(messageId, r.status == .received)
        }
    }

    /// Appends the event to the message's record and changes it with `body` (nothing when the
    /// message is unknown).
    private static func touch<R: NodeStateRows>(_ id: String, _ event: Event, _ rows: inout R,
                                                _ body: (inout MessageRecord) -> Void = { _ in }) throws(R.Failure) {
        guard var r = try rows.message(id) else { return }
        r.eventSeqs.append(event.seq)
        body(&r)
        try rows.putMessage(r)
    }

    /// Changes the dispatch the event names with `body`; returns it, or nil when unknown.
    private static func dispatch<R: NodeStateRows>(_ event: Event, _ rows: inout R,
                                                   _ body: (inout DispatchRecord) -> Void) throws(R.Failure) -> DispatchRecord? {
        guard let id = event.payload["as4_message_id"]?.stringValue, var d = try rows.dispatch(id) else { return nil }
        body(&d)
        try rows.putDispatch(d)
        return d
    }

    private static func fold<R: NodeStateRows>(_ event: Event, messageId: String?, attempt: Int, into rows: inout R) throws(R.Failure) {
        let p = event.payload
        switch event.type {
        case NodeEventType.submitted:
            guard let messageId, let participant = p["participant"]?.stringValue else { return }
            var r = MessageRecord(id: messageId, participant: participant, direction: .outbound, status: .submitted, createdAt: event.time)
            r.eventSeqs = [event.seq]
            r.from = p["from"]?.stringValue.flatMap(FunctionalAddress.init)
            r.to = p["to"]?.stringValue.flatMap(FunctionalAddress.init)
            r.label = p["label"]?.stringValue
            r.confidential = p["confidential"]?.boolValue ?? false
            r.conversation = p["conversation_id"]?.stringValue
            r.reference = p["reference"]?.stringValue
            r.sdkMessage = BlobField.parse(p["sdk_message"])
            r.xhe = BlobField.parse(p["xhe"])
            r.attachments = MessageRecord.attachments(p["attachments"])
            r.contentKey = ContentKeyRef.parse(p["content_encryption"])
            if var d = DispatchRecord(json: p["dispatch"], messageId: messageId, participant: participant) {
                d.createdSeq = event.seq
                r.as4MessageId = d.as4MessageId
                try rows.putDispatch(d)
                try rows.setPending(d.as4MessageId, true)
            }
            try rows.putMessage(r)
            if let s = p["submission_id"]?.stringValue { try rows.putSubmission(s, message: messageId) }
        case NodeEventType.dispatched:
            if let d = try dispatch(event, &rows, { $0.attemptsStarted = max($0.attemptsStarted, attempt + 1) }), d.kind == .message {
                try touch(d.messageId, event, &rows) { $0.advance(to: .dispatched) }
            } else if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.transportReceiptReceived:
            if let d = try dispatch(event, &rows, {
                $0.attemptsFinished = max($0.attemptsFinished, attempt + 1)
                $0.outcome = .delivered
                $0.nextAttemptAt = nil
            }), d.kind == .message {
                try touch(d.messageId, event, &rows) { $0.advance(to: .delivered) }
            } else if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.transportErrorReceived, NodeEventType.attemptFailed:
            let reason = p["reason"]
            let text = [reason?["code"]?.stringValue, reason?["detail"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            _ = try dispatch(event, &rows) {
                $0.attemptsFinished = max($0.attemptsFinished, attempt + 1)
                $0.nextAttemptAt = p["next_attempt_at"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
                $0.lastError = text
            }
            if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.retryRequested:
            // Brings a waiting attempt forward; an attempt under way or a final outcome is left as it is.
            _ = try dispatch(event, &rows) {
                guard $0.outcome == .pending, $0.attemptsStarted == $0.attemptsFinished, $0.nextAttemptAt != nil else { return }
                $0.nextAttemptAt = event.time
            }
            if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.resealed:
            if let fresh = DispatchRecord(json: p["dispatch"], messageId: messageId ?? "", participant: p["participant"]?.stringValue ?? "") {
                _ = try dispatch(event, &rows) { $0.takeWire(of: fresh) }
            }
            // A business message's XHE is the new one; a Meddelandekvittens sealed again leaves
            // the record's XHE (the one it answers) as it is.
            let isReceipt = p["kind"]?.stringValue == DispatchRecord.Kind.receipt.rawValue
            if let messageId { try touch(messageId, event, &rows) { r in if !isReceipt { r.xhe = BlobField.parse(p["xhe"]) ?? r.xhe } } }
        case NodeEventType.deliveryFailed:
            let code = p["reason"]?["code"]?.stringValue ?? "?"
            let detail = p["reason"]?["detail"]?.stringValue ?? ""
            if let d = try dispatch(event, &rows, { $0.outcome = .failed(code: code, detail: detail); $0.nextAttemptAt = nil }),
               d.kind == .message {
                try touch(d.messageId, event, &rows) { $0.status = .failed; $0.failure = "\(code) \(detail)" }
            } else if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.received:
            // Over AS4 the event names the sender's AS4 MessageId; a delivery inside the node has none.
            let as4 = p["as4_message_id"]?.stringValue
            let isInternal = p["transport"]?.stringValue == NodeEventType.internalTransport
            guard let messageId, let participant = p["participant"]?.stringValue, as4 != nil || isInternal else { return }
            var r = MessageRecord(id: messageId, participant: participant, direction: .inbound, status: .received, createdAt: event.time)
            r.eventSeqs = [event.seq]
            r.as4MessageId = as4
            r.from = p["from"]?.stringValue.flatMap(FunctionalAddress.init)
            r.to = p["to"]?.stringValue.flatMap(FunctionalAddress.init)
            r.xhe = BlobField.parse(p["xhe"])
            try rows.putMessage(r)
            if let as4 { try rows.putInbound(as4, NodeProjection.Inbound(messageId: messageId, receipt: nil)) }
        case NodeEventType.deliveredInternally:
            if let messageId { try touch(messageId, event, &rows) { $0.advance(to: .delivered) } }
        case NodeEventType.transportReceiptSent:
            if let as4 = p["as4_message_id"]?.stringValue, var i = try rows.inbound(as4) {
                i.receipt = BlobField.parse(p["receipt"])
                try rows.putInbound(as4, i)
            }
            if let messageId { try touch(messageId, event, &rows) }
        case NodeEventType.receiptSent:
            guard let messageId, let participant = p["participant"]?.stringValue else { return }
            var d = DispatchRecord(json: p["dispatch"], messageId: messageId, participant: participant)
            d?.createdSeq = event.seq
            if let d {
                try rows.putDispatch(d)
                try rows.setPending(d.as4MessageId, true)
            }
            try touch(messageId, event, &rows) { r in
                let verdict = MessageRecord.Verdict.parse(p)
                r.verdict = verdict
                r.status = verdict.status == "ACCEPTED" ? .accepted : .rejected
                r.receiptDispatch = d?.as4MessageId
                if let content = p["content"] {
                    r.sdkMessage = BlobField.parse(content["sdk_message"])
                    r.attachments = MessageRecord.attachments(content["attachments"])
                    r.contentKey = ContentKeyRef.parse(content["content_encryption"])
                    r.label = content["label"]?.stringValue
                    r.from = content["from"]?.stringValue.flatMap(FunctionalAddress.init) ?? r.from
                    r.to = content["to"]?.stringValue.flatMap(FunctionalAddress.init) ?? r.to
                    r.confidential = content["confidential"]?.boolValue ?? false
                    r.conversation = content["conversation_id"]?.stringValue
                    r.reference = content["reference"]?.stringValue
                }
            }
        case NodeEventType.receiptReceived:
            if let as4 = p["as4_message_id"]?.stringValue, let messageId {
                try rows.putInbound(as4, NodeProjection.Inbound(messageId: messageId, receipt: nil))
            }
            guard let messageId else { return }
            try touch(messageId, event, &rows) { r in
                let verdict = MessageRecord.Verdict.parse(p)
                r.verdict = verdict
                r.status = verdict.status == "ACCEPTED" ? .accepted : .rejected
            }
        case NodeEventType.rejected:
            try rows.addRejection(NodeProjection.Rejection(seq: event.seq, participant: p["participant"]?.stringValue,
                                                           as4MessageId: p["as4_message_id"]?.stringValue,
                                                           code: p["reason"]?["code"]?.stringValue ?? "?",
                                                           detail: p["reason"]?["detail"]?.stringValue ?? ""))
        case AccessEventType.denied where p["reason"]?.stringValue == AccessDenial.Reason.notVisible.rawValue:
            // Someone who may not see the message asked for it: the audit log keeps the refusal
            // (owned by the message's participant), but it is no step of the message, so its trace
            // and evidence — which the message's users read — never show who probed it.
            break
        default:
            if let messageId { try touch(messageId, event, &rows) }
        }
    }
}
