import Foundation
import Ledger
import Projections
import Transport

extension Node {
    /// Issues the Meddelandekvittens for an inbound message: validates the XHE (XSD + DIGG rules),
    /// verifies its signature against the O2O trust anchors, decrypts the payload with the
    /// participant's O2O key and validates the SDK message; ACCEPTED when all holds, else
    /// REJECTED with SV / BV / SIG lines. Accepted content goes to the blob store. The receipt is
    /// sealed (`tm-base-ext-sigenc`) and queued for dispatch to the sender's access point in the
    /// same event, `message.receipt.sent`.
    func answer(_ r: MessageRecord, now: Date = Date()) async throws(NodeError) {
        guard let xheRef = r.xhe, let o2o = keys.o2o[r.participant] else {
            throw NodeError(.storage, "message \(r.id) has no stored XHE or its participant has no O2O key")
        }
        let xhe = try blob(xheRef)
        let envelope: XHEEnvelope
        do { envelope = try XHEEnvelope(document: try XMLDocument(bytes: xhe)) } catch {
            throw NodeError(.storage, "the stored XHE of \(r.id) cannot be read: \(error)")
        }
        var lines: [MessageReceipt.Line] = []
        do { lines += try validator.validate(xhe).violations.map(MessageReceipt.Line.init) } catch {
            lines.append(.init(lineID: "NA", code: .schema, reasonCode: nil, reason: "\(error)"))
        }
        var content: [String: JSONValue]?
        do {
            let opened = try await XHESecurity.open(xhe, verifier: XMLSignatureVerifier(trust: keys.o2oTrust), decryptionIdentity: o2o, at: now)
            // A valid signature of some federation member is not enough: it must be the sender's.
            if let signer = opened.signer, !OrganizationBinding.matches(signer, participant: envelope.fromParty) {
                lines.append(.init(lineID: "NA", code: .signature, reasonCode: nil,
                                   reason: "the XHE is signed by \(OrganizationBinding.describe(signer)), not by its FromParty \(envelope.fromParty)"))
            } else if let payload = opened.payload {
                let inner: SDKValidator.Report
                do { inner = try validator.validate(payload) } catch {
                    throw NodeError(.invalidMessage, "\(error)")
                }
                lines += inner.violations.map(MessageReceipt.Line.init)
                if inner.isValid, inner.kind == .sdkMessage {
                    content = try store(payload, participant: r.participant)
                }
            } else {
                lines.append(.init(lineID: "NA", code: .schema, reasonCode: nil, reason: "the XHE payload is not an SDK message"))
            }
        } catch let e as NodeError where e.code == .invalidMessage {
            lines.append(.init(lineID: "NA", code: .schema, reasonCode: nil, reason: e.message))
        } catch let e as NodeError {
            throw e
        } catch {
            lines.append(.init(lineID: "NA", code: .signature, reasonCode: nil, reason: "\(error)"))
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
        if let route = try await router.route(to: envelope.fromParty) {
            let receiptEnvelope = XHEEnvelope(
                id: receiptID, creationDateTime: date,
                businessScope: XHEEnvelope.businessScope(for: .meddelandekvittens, model: .signedAndEncrypted),
                fromParty: r.participant, toParty: envelope.fromParty,
                payload: .init(documentTypeCode: XHEEnvelope.DocumentType.meddelandekvittens.documentTypeCode, handlingServiceID: nil,
                               content: .xml(receipt.xml(declaration: false))))
            let sealed: [UInt8]
            do { sealed = try XHESecurity.seal(receiptEnvelope, model: .signedAndEncrypted, signer: o2o, recipient: route.o2oCertificate) } catch {
                throw NodeError(.keyUnusable, "sealing the Meddelandekvittens: \(error)")
            }
            payload["xhe"] = BlobField.json(try putBlob(sealed))
            let dispatch = try seal(xhe: sealed, conversationId: receiptID, messageId: r.id, from: r.participant, to: envelope.fromParty,
                                    route: route, action: SDKAS4.receiptAction, kind: .receipt, refToMessageId: r.as4MessageId, now: now)
            payload["dispatch"] = dispatch.json
        } else {
            payload["undeliverable"] = .string("no route to \(envelope.fromParty); add it with `kvitto route add`")
            logger.error("no route for the Meddelandekvittens", metadata: ["message": .string(r.id), "to": .string(envelope.fromParty)])
        }
        try await append([EventDraft(type: NodeEventType.receiptSent, subject: NodeEventType.subject(message: r.id), actor: "node",
                                     payload: .object(payload))])
        logger.info("Meddelandekvittens issued", metadata: ["message": .string(r.id), "status": .string(lines.isEmpty ? "ACCEPTED" : "REJECTED")])
    }

    /// Stores an accepted SDK message and its attachments; returns the `content` payload member.
    private func store(_ payload: [UInt8], participant: String) throws(NodeError) -> [String: JSONValue] {
        let message: SDKMessage
        do { message = try SDKMessage(element: try XMLDocument(bytes: payload).root) } catch {
            throw NodeError(.invalidMessage, "\(error)")
        }
        var attachments: [JSONValue] = []
        for d in message.documents {
            for f in d.files {
                attachments.append(["file_name": .string(f.fileName), "content_type": .string(f.contentType),
                                    "blob": BlobField.json(try putBlob(f.content))])
            }
        }
        var c: [String: JSONValue] = ["sdk_message": BlobField.json(try putBlob(payload)), "attachments": .array(attachments),
                                      "confidential": .bool(message.header.confidentiality),
                                      "texts": .int(Int64(message.documents.reduce(0) { $0 + $1.texts.count }))]
        if let label = message.header.label { c["label"] = .string(label) }
        let sender = message.header.sender
        if sender.id.root == SDKAS4.participantScheme {
            let fn = sender.attention?.subOrganization.id.extension ?? ""
            c["from"] = .string(FunctionalAddress(participant: sender.id.extension, function: fn).description)
        }
        return c
    }
}
