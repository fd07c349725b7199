import Foundation
import Ledger
import Projections
package import Transport

/// The node behind the AS4 endpoint: stores each verified inbound message in the ledger before
/// the AS4 receipt is sent, recognises resends from the ledger (never twice delivered), records
/// refusals, and files incoming Meddelandekvittens against the messages they answer.
package struct NodeInbound: AS4Delivery, DuplicateStore {
    package let node: Node

    package init(node: Node) { self.node = node }

    /// Stores the message (or files the Meddelandekvittens) and the receipt we answer with, as
    /// one durable batch.
    package func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws {
        let user = inbound.userMessage
        // Counted as in progress for the recipient, so a retirement waits for it to be recorded.
        guard let recipient = user.property("finalRecipient") else { throw EbMSError.notServiced }
        guard node.keys.participants.enter([recipient]) else {
            // While its retirement is being decided, the sender is asked to try again (the
            // retirement may be refused, and then this message is taken as usual).
            if node.keys.participants.isSuspended(recipient) {
                throw AS4TemporarilyUnavailable("\(recipient) is being retired from this access point")
            }
            throw EbMSError.notServiced
        }
        defer { node.keys.participants.leave([recipient]) }
        let as4 = user.messageId
        guard node.receiving.withLock({ $0.insert("as4:" + as4).inserted }) else {
            throw AS4TemporarilyUnavailable("message \(as4) is being stored by a parallel delivery")
        }
        defer { _ = node.receiving.withLock { $0.remove("as4:" + as4) } }
        if try node.read({ try $0.inbound(as4) != nil }) { return }  // a resend: stored before, answered with the same receipt
        guard let spool = inbound.payloads[SDKAS4.messagePartID] else {
            throw EbMSError.valueInconsistent("no cid:\(SDKAS4.messagePartID) payload (the XHE)")
        }
        guard spool.count <= XMLLimits.sdk.maxDocumentBytes else { throw EbMSError.other(PeerText.tooLarge) }
        // The header only (as the endpoint read it, or from the spool): the payload is checked by
        // the Meddelandekvittens.
        let envelope: XHEEnvelope
        if let header = inbound.xheHeader {
            envelope = header
        } else {
            do { envelope = try XHEEnvelope(headerOf: try XMLDocument(spool: spool, copyTextsUpTo: XMLLimits.headerText)) }
            catch XMLError.inputUnreadable(let why) { throw AS4TemporarilyUnavailable("the payload spool cannot be read: \(why)") }
            catch { throw EbMSError.valueInconsistent("the payload is not a readable XHE: \(error)") }
        }
        // Blobs are stored only once the message passed every check that can refuse it here, so a
        // refused message leaves nothing behind that no event accounts for.
        func evidence() throws(NodeError) -> [String: JSONValue] {
            ["participant": .string(recipient), "as4_message_id": .string(as4), "from_party": .string(user.from.id),
             "original_sender": .string(user.property("originalSender") ?? ""), "conversation_id": .string(user.conversationId),
             "xhe": BlobField.json(try node.putBlob(spool)), "soap": BlobField.json(try node.putBlob(inbound.soap))]
        }
        // Two deliveries of one XHE ID under different AS4 MessageIds are stored one at a time,
        // so the second finds the first's message and is refused.
        guard node.receiving.withLock({ $0.insert("xhe:" + envelope.id).inserted }) else {
            throw AS4TemporarilyUnavailable("XHE \(envelope.id) is being stored by a parallel delivery")
        }
        defer { _ = node.receiving.withLock { $0.remove("xhe:" + envelope.id) } }
        switch user.action {
        case SDKAS4.messageAction:
            if try node.read({ try $0.message(envelope.id) }) != nil {
                throw EbMSError.valueInconsistent("the XHE ID \(envelope.id) is already used by another message on this access point")
            }
            var p = try evidence()
            // Filed under the addressed function when the participant has it (or its catch-all);
            // otherwise under no mailbox, and the Meddelandekvittens refuses it.
            if let participant = node.keys.participants.participant(recipient) {
                let book = try node.read { try $0.addressBook(participants: [participant.id]) }
                if case .mailbox(let address) = MailboxResolution(participant: participant, addressBook: book)
                    .resolve(function: envelope.payload.handlingServiceID) {
                    p["to"] = .string(address.description)
                }
            }
            if let function = envelope.payload.handlingServiceID { p["addressed_function"] = .string(function) }
            try await node.append([EventDraft(type: NodeEventType.received, subject: NodeEventType.subject(message: envelope.id),
                                              actor: "ap:" + user.from.id, payload: .object(p)),
                                   try receiptSent(as4, participant: recipient, message: envelope.id, receipt: receipt)])
            node.logger.info("message received", metadata: ["message": .string(envelope.id), "as4_message_id": .string(as4),
                                                            "from_party": .string(user.from.id)])
        case SDKAS4.receiptAction:
            let xhe: [UInt8]
            do { xhe = try spool.bytes() } catch { throw AS4TemporarilyUnavailable("the payload spool cannot be read: \(error)") }
            try await fileReceipt(xhe: xhe, recipient: recipient, user: user, evidence: evidence, receipt: receipt)
        default:
            throw EbMSError.valueNotRecognized("action \(user.action) is not serviced by this access point")
        }
    }

    /// A Meddelandekvittens: verify and decrypt the XHE with the participant's O2O identity, and
    /// record it against the message it answers.
    private func fileReceipt(xhe: [UInt8], recipient: String, user: UserMessage, evidence: () throws(NodeError) -> [String: JSONValue],
                             receipt signal: [UInt8])
        async throws
    {
        let opened: ReceiptOpening.Opened
        do { opened = try await ReceiptOpening(node: node).open(xhe, recipient: recipient, internal: false) } catch {
            switch error {
            case .unreadable(let cause):
                // One fixed text whatever failed (signature, key unwrap, padding, parsing): no oracle.
                throw EbMSError.other(PeerText.receiptUnreadable).withInternalDetail(cause)
            case .wrongSigner(let fromParty):
                throw EbMSError.failedAuthentication("the Meddelandekvittens is not signed by its FromParty \(fromParty)")
            case .noPayload:
                throw EbMSError.valueInconsistent("the Meddelandekvittens has no XML payload")
            case .unknownReference(let reference):
                throw EbMSError.valueInconsistent("the Meddelandekvittens refers to \(reference), which \(recipient) did not send")
            case .storage(let e):
                throw e
            }
        }
        let (receipt, plain, original) = (opened.receipt, opened.plain, opened.original)
        var p = try evidence()
        p["receipt_id"] = .string(receipt.id)
        p["receipt"] = BlobField.json(try node.putBlob(plain))
        p.merge(Self.verdict(receipt.status)) { _, new in new }
        try await node.append([EventDraft(type: NodeEventType.receiptReceived, subject: NodeEventType.subject(message: original.id),
                                          actor: "ap:" + user.from.id, payload: .object(p)),
                               try receiptSent(user.messageId, participant: recipient, message: original.id, receipt: signal)])
        node.logger.info("Meddelandekvittens received", metadata: ["message": .string(original.id),
                                                                   "status": p["status"]?.stringValue.map { .string($0) } ?? "?"])
    }

    /// `transport.receipt.sent` for the AS4 receipt answering `as4`.
    private func receiptSent(_ as4: String, participant: String, message: String, receipt: [UInt8]) throws(NodeError) -> EventDraft {
        EventDraft(type: NodeEventType.transportReceiptSent, subject: NodeEventType.subject(message: message), actor: "node",
                   payload: ["as4_message_id": .string(as4), "participant": .string(participant),
                             "receipt": BlobField.json(try node.putBlob(receipt))])
    }

    /// `status` and `lines` of a Meddelandekvittens as event payload members.
    static func verdict(_ status: MessageReceipt.Status) -> [String: JSONValue] {
        switch status {
        case .accepted:
            return ["status": "ACCEPTED", "lines": []]
        case .rejected(let lines):
            return ["status": "REJECTED",
                    "lines": .array(lines.map { ["code": .string($0.code.rawValue), "line_id": .string($0.lineID),
                                                 "reason_code": $0.reasonCode.map { .string($0) } ?? .null, "reason": .string($0.reason)] })]
        }
    }

    /// Records a refusal as ``RefusalPolicy`` decides: an event only for refusals of
    /// authenticated access points (at most one per access point and error code per interval),
    /// counts and rate-limited log lines for the rest. `userMessage` is non-nil exactly when the
    /// request's signature and certificate were verified.
    package func refused(_ error: EbMSError, userMessage: UserMessage?) async {
        let peer = userMessage?.from.id
        switch node.refusals.decide(code: error.code, peer: peer) {
        case .count:
            return
        case .log(let count):
            node.logger.notice("unauthenticated requests refused", metadata: [
                "code": .string(error.code), "count": .stringConvertible(count), "last_detail": .string(error.internalDetail ?? error.detail)])
            return
        case .record(let repeatsBefore):
            guard let user = userMessage else { return }
            var p: [String: JSONValue] = ["reason": ["code": .string(error.code), "detail": .string(String(error.detail.prefix(1000)))],
                                          "as4_message_id": .string(user.messageId), "from_party": .string(user.from.id),
                                          "action": .string(user.action), "repeats_before": .int(Int64(repeatsBefore)),
                                          "coalescing_seconds": .int(Int64(node.refusals.interval))]
            if let cause = error.internalDetail { p["internal_detail"] = .string(String(cause.prefix(1000))) }
            if let recipient = user.property("finalRecipient") {
                p["final_recipient"] = .string(recipient)
                if node.serves(recipient) { p["participant"] = .string(recipient) }
            }
            do {
                try await node.append([EventDraft(type: NodeEventType.rejected, subject: "inbound:" + user.messageId,
                                                  actor: "ap:" + user.from.id, payload: .object(p))])
            } catch {
                node.logger.error("could not record a refused message", metadata: ["error": .string("\(error)")])
            }
            node.logger.notice("inbound message refused", metadata: ["error": .string(error.description), "from_party": .string(user.from.id),
                                                                    "internal_detail": .string(error.internalDetail ?? "")])
        }
    }

    package func unavailable(_ detail: String) async {
        node.logger.warning("inbound request answered 503 (retry later)", metadata: ["detail": .string(detail)])
    }

    // MARK: DuplicateStore — answered from the ledger

    package func receipt(for messageId: String) async throws -> [UInt8]? {
        guard let ref = try node.read({ try $0.inbound(messageId)?.receipt }) else { return nil }
        return try node.blob(ref)
    }

    package func remember(messageId: String, receipt: [UInt8]) async throws -> Bool {
        let key = "receipt:" + messageId
        guard node.receiving.withLock({ $0.insert(key).inserted }) else { return false }
        defer { _ = node.receiving.withLock { $0.remove(key) } }
        guard let known = try node.read({ try $0.inbound(messageId) }) else { return true }
        if known.receipt != nil { return false }
        var p: [String: JSONValue] = ["as4_message_id": .string(messageId), "receipt": BlobField.json(try node.putBlob(receipt))]
        if let participant = try node.read({ try $0.message(known.messageId)?.participant }) { p["participant"] = .string(participant) }
        try await node.append([EventDraft(type: NodeEventType.transportReceiptSent, subject: NodeEventType.subject(message: known.messageId),
                                          actor: "node", payload: .object(p))])
        return true
    }
}
