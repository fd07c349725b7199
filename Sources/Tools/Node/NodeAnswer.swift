package import Foundation
import Ledger
import X509
package import Projections
import Transport

extension Node {
    /// Issues the Meddelandekvittens for an inbound message (see ``InboundReview`` for the order
    /// of the checks): ACCEPTED when the signature, the XHE, the decrypted SDK message and the
    /// parties named in it all hold, else REJECTED with SV / BV / SIG lines. Accepted content goes
    /// to the blob store. The receipt is sealed (`tm-base-ext-sigenc`) and queued for dispatch to
    /// the sender's access point in the same event, `message.receipt.sent` — or, for a message
    /// delivered inside the node, opened by the sender's participant in the same append.
    package func answer(_ r: MessageRecord, now: Date = Date()) async throws(NodeError) {
        guard let xheRef = r.xhe, let o2o = keys.o2o[r.participant],
              let participant = keys.participants.participant(r.participant) else {
            throw NodeError(.storage, "message \(r.id) has no stored XHE or its participant has no O2O key")
        }
        let book = try read { try $0.addressBook(participants: [r.participant]) }
        let review = InboundReview(validator: validator, trust: keys.o2oTrust, decryption: keys.o2oDecryption(r.participant),
                                   mailboxes: MailboxResolution(participant: participant, addressBook: book))
        let (envelope, outcome) = try await review.review(loading: { () throws(NodeError) in try blob(xheRef) }, at: now)
        let lines = outcome.lines
        if let detail = outcome.internalDetail {
            logger.notice("inbound payload refused", metadata: ["message": .string(r.id), "detail": .string(detail)])
        }
        var content: [String: JSONValue]?
        if lines.isEmpty, let message = outcome.message, let plain = outcome.payload {
            content = try store(message, payload: plain, of: r)
            if let mailbox = outcome.mailbox { content?["to"] = .string(mailbox.description) }
        }
        let receiptID = UUID().uuidString.lowercased()
        let date = SDKMessage.timestamp(now)
        let receipt = MessageReceipt(id: receiptID, issueDate: String(date.prefix(10)), issueTime: String(date.dropFirst(11).prefix(8)) + "Z",
                                     sender: r.participant, receiver: envelope.fromParty, documentReference: envelope.id,
                                     status: lines.isEmpty ? .accepted : .rejected(lines))
        let plain = receipt.xml()
        var payload: [String: JSONValue] = ["participant": .string(r.participant), "receipt_id": .string(receiptID),
                                            "receipt": BlobField.json(try putBlob(plain))]
        payload.merge(NodeInbound.verdict(receipt.status)) { _, new in new }
        if let content { payload["content"] = .object(content) }
        if let detail = outcome.internalDetail { payload["internal_detail"] = .string(String(detail.prefix(2000))) }
        let receiptEnvelope = XHEEnvelope(
            id: receiptID, creationDateTime: date,
            businessScope: XHEEnvelope.businessScope(for: .meddelandekvittens, model: .signedAndEncrypted),
            fromParty: r.participant, toParty: envelope.fromParty,
            payload: .init(documentTypeCode: XHEEnvelope.DocumentType.meddelandekvittens.documentTypeCode, handlingServiceID: nil,
                           content: .xml(receipt.xml(declaration: false))))
        func sealed(for recipient: Certificate) throws(NodeError) -> [UInt8] {
            do { return try XHESecurity.seal(receiptEnvelope, model: .signedAndEncrypted, signer: o2o, recipient: recipient) } catch {
                throw NodeError(.keyUnusable, "sealing the Meddelandekvittens: \(error)")
            }
        }
        var drafts: [EventDraft] = []
        if r.isInternal, let sender = keys.o2o[envelope.fromParty] {
            // Delivered inside the node: the sender's participant opens the receipt in the same append.
            let xhe = try sealed(for: sender.certificate)
            let blob = try putBlob(xhe)
            payload["xhe"] = BlobField.json(blob)
            payload["transport"] = .string(NodeEventType.internalTransport)
            do {
                drafts.append(try await receiveInternally(xhe, sealedBlob: blob, sender: envelope.fromParty, issuer: r.participant))
            } catch where error.code != .storage {
                // The sender's side cannot open it (its key, the issuer's certificate or the O2O
                // trust): our verdict is still recorded, and the reason stays visible, instead of
                // the answer being retried for ever.
                payload["undeliverable"] = .string(String(error.message.prefix(2000)))
                logger.error("the sender cannot open the Meddelandekvittens issued inside the node",
                             metadata: ["message": .string(r.id), "to": .string(envelope.fromParty), "error": .string(error.message)])
            }
        } else if !r.isInternal, let route = try await router.route(to: envelope.fromParty) {
            let xhe = try sealed(for: route.o2oCertificate)
            payload["xhe"] = BlobField.json(try putBlob(xhe))
            let dispatch = try seal(xhe: xhe, conversationId: receiptID, messageId: r.id, from: r.participant, to: envelope.fromParty,
                                    route: route, action: SDKAS4.receiptAction, kind: .receipt, refToMessageId: r.as4MessageId, now: now)
            payload["dispatch"] = dispatch.json
        } else {
            let why = r.isInternal ? "\(envelope.fromParty) is no longer served by this node" : "no route to \(envelope.fromParty); add it with `kvitto route add`"
            payload["undeliverable"] = .string(why)
            if r.isInternal { payload["transport"] = .string(NodeEventType.internalTransport) }
            logger.error("the Meddelandekvittens cannot be delivered", metadata: ["message": .string(r.id), "to": .string(envelope.fromParty),
                                                                                   "reason": .string(why)])
        }
        drafts.insert(EventDraft(type: NodeEventType.receiptSent, subject: NodeEventType.subject(message: r.id), actor: "node",
                                 payload: .object(payload)), at: 0)
        try await append(drafts)
        logger.info("Meddelandekvittens issued", metadata: ["message": .string(r.id), "status": .string(lines.isEmpty ? "ACCEPTED" : "REJECTED")])
    }

    /// Stores an accepted SDK message and its attachments; returns the `content` payload member.
    /// Content encrypted at rest (by the participant's key-encryption key) when the node's
    /// `content_encryption` covers it; without that key the answer fails and is tried again, so
    /// the content is never stored in the clear instead.
    private func store(_ message: SDKMessage, payload: [UInt8], of r: MessageRecord) throws(NodeError) -> [String: JSONValue] {
        let sealer = try vault.sealer(participant: r.participant, message: r.id, confidential: message.header.confidentiality)
        var attachments: [JSONValue] = []
        for d in message.documents {
            for f in d.files {
                attachments.append(["file_name": .string(f.fileName), "content_type": .string(f.contentType),
                                    "blob": BlobField.json(try putContent(f.content, sealer))])
            }
        }
        var c: [String: JSONValue] = ["sdk_message": BlobField.json(try putContent(payload, sealer)), "attachments": .array(attachments),
                                      "confidential": .bool(message.header.confidentiality),
                                      "texts": .int(Int64(message.documents.reduce(0) { $0 + $1.texts.count }))]
        if let sealer { c["content_encryption"] = sealer.key.json }
        if let label = message.header.label { c["label"] = .string(label) }
        c["conversation_id"] = .string(message.header.conversationId)
        if let reference = message.header.recipient.attention.references.first?.id.extension { c["reference"] = .string(reference) }
        let sender = message.header.sender
        if sender.id.root == SDKAS4.participantScheme {
            let fn = sender.attention?.subOrganization.id.extension ?? ""
            c["from"] = .string(FunctionalAddress(participant: sender.id.extension, function: fn).description)
        }
        return c
    }
}
