import Foundation
import Ledger
import Projections
import Transport
import X509

/// Certificate rollover of a recipient while messages to it wait: a queued business message
/// sealed for a recipient certificate (AS4 or O2O) or endpoint that the route no longer names is
/// sealed again at its next attempt — its XHE for the current O2O certificate with the same XHE ID
/// and content, its AS4 message for the current AS4 certificate with the same MessageId — and the
/// change is recorded as `message.resealed` before the attempt, so a restart sends the new wire
/// message. A Meddelandekvittens waiting for its recipient is sealed again the same way (`kind`
/// `receipt`): the same receipt, receipt id and AS4 MessageId.
extension Node {
    /// The dispatch as it should be sent now (see above); `d` itself when nothing changed.
    func resealed(_ d: DispatchRecord, now: Date = Date()) async throws(NodeError) -> DispatchRecord {
        if d.kind == .receipt { return try await resealedReceipt(d, now: now) }
        guard d.kind == .message, let record = try read({ try $0.message(d.messageId) }), !record.isInternal,
              let recipient = record.to?.participant, let route = try await router.route(to: recipient) else { return d }
        // Compared by hash (the blob references are content hashes): no file is read per attempt.
        let as4Changed = d.recipientCertificate.sha256 != Digest32.sha256(CertificateFile.der(route.as4Certificate))
        let o2oChanged = d.recipientO2OCertificate.map { $0.sha256 != Digest32.sha256(CertificateFile.der(route.o2oCertificate)) } ?? false
        guard as4Changed || o2oChanged || d.endpoint != route.endpoint else { return d }
        guard let sdkRef = record.sdkMessage, let xheRef = record.xhe, let o2o = keys.o2o[record.participant] else {
            throw NodeError(.storage, "message \(record.id) cannot be sealed again: its SDK message or XHE is not stored, or \(record.participant) has no O2O key")
        }
        // The same XHE (ID, time, parties, function) around the same SDK message, for the current certificate.
        let header: XHEEnvelope, message: SDKMessage
        do {
            header = try XHEEnvelope(headerOf: try XMLDocument(bytes: try blob(xheRef)))
            let storage = projections.storage
            let sdk = try vault.read(sdkRef, of: record) { try NodeStateProjection.erasure(of: $0, in: storage) }
            message = try SDKMessage(element: try XMLDocument(bytes: sdk).root)
        } catch let e as NodeError { throw e } catch {
            throw NodeError(.storage, "message \(record.id) cannot be sealed again: its stored XHE or SDK message does not read: \(error)")
        }
        var envelope = header
        envelope.payload.content = .xml(message.xml(declaration: false))
        let xhe: [UInt8]
        do { xhe = try XHESecurity.seal(envelope, model: .signedAndEncrypted, signer: o2o, recipient: route.o2oCertificate) } catch {
            throw NodeError(.keyUnusable, "sealing the XHE of \(record.id) again for \(recipient): \(error)")
        }
        let fresh = try seal(xhe: xhe, conversationId: record.conversation ?? record.id, messageId: record.id, from: record.participant,
                             to: recipient, route: route, action: SDKAS4.messageAction, kind: .message, as4MessageId: d.as4MessageId, now: now)
        return try await recordResealed(d, of: record, for: recipient, changed: (as4Changed, o2oChanged, d.endpoint != route.endpoint),
                                        xhe: xhe, fresh: fresh, what: "message")
    }

    /// A queued Meddelandekvittens sealed again for its recipient's current certificates, or `d`.
    private func resealedReceipt(_ d: DispatchRecord, now: Date) async throws(NodeError) -> DispatchRecord {
        // The receipt goes to the sender of the message it answers (`original_sender` of its
        // `message.received`): one event read per attempt, the rest only when a certificate changed.
        guard let record = try read({ try $0.message(d.messageId) }), !record.isInternal else { return d }
        let received: Event?
        do { received = try record.eventSeqs.first.flatMap { try ledger.event($0) } } catch {
            throw NodeError(.storage, "reading the events of \(record.id): \(error)")
        }
        guard let sender = received?.payload["original_sender"]?.stringValue, !sender.isEmpty,
              let route = try await router.route(to: sender) else { return d }
        let as4Changed = d.recipientCertificate.sha256 != Digest32.sha256(CertificateFile.der(route.as4Certificate))
        let o2oChanged = d.recipientO2OCertificate.map { $0.sha256 != Digest32.sha256(CertificateFile.der(route.o2oCertificate)) } ?? false
        guard as4Changed || o2oChanged || d.endpoint != route.endpoint else { return d }
        // The receipt as issued: its stored plain text and XHE (for the header: id, time, parties).
        var issued: Event?
        do {
            for seq in record.eventSeqs.reversed() {
                if let e = try ledger.event(seq), e.type == NodeEventType.receiptSent { issued = e; break }
            }
        } catch { throw NodeError(.storage, "reading the Meddelandekvittens of \(record.id): \(error)") }
        guard let issued, let receiptRef = BlobField.parse(issued.payload["receipt"]), let xheRef = BlobField.parse(issued.payload["xhe"]),
              let receiptID = issued.payload["receipt_id"]?.stringValue else { return d }
        let header: XHEEnvelope
        do { header = try XHEEnvelope(headerOf: try XMLDocument(bytes: try blob(xheRef))) } catch let e as NodeError { throw e } catch {
            throw NodeError(.storage, "the Meddelandekvittens of \(record.id) cannot be sealed again: its stored XHE does not read: \(error)")
        }
        let recipient = header.toParty
        guard recipient == sender else { return d }  // addressed elsewhere than the sender: left as it was issued
        guard let o2o = keys.o2o[record.participant] else {
            throw NodeError(.keyUnusable, "the Meddelandekvittens of \(record.id) cannot be sealed again: \(record.participant) has no O2O key")
        }
        // The receipt element as it was sealed (the stored text carries an XML declaration).
        var plain = try blob(receiptRef)
        if plain.starts(with: Array("<?xml".utf8)), let end = plain.firstRange(of: Array("?>".utf8)) {
            plain = Array(plain[end.upperBound...].drop { $0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09 })
        }
        var envelope = header
        envelope.payload.content = .xml(plain)
        let xhe: [UInt8]
        do { xhe = try XHESecurity.seal(envelope, model: .signedAndEncrypted, signer: o2o, recipient: route.o2oCertificate) } catch {
            throw NodeError(.keyUnusable, "sealing the Meddelandekvittens of \(record.id) again for \(recipient): \(error)")
        }
        let fresh = try seal(xhe: xhe, conversationId: receiptID, messageId: record.id, from: record.participant, to: recipient, route: route,
                             action: SDKAS4.receiptAction, kind: .receipt, refToMessageId: record.as4MessageId, as4MessageId: d.as4MessageId, now: now)
        return try await recordResealed(d, of: record, for: recipient, changed: (as4Changed, o2oChanged, d.endpoint != route.endpoint),
                                        xhe: xhe, fresh: fresh, what: "Meddelandekvittens", receiptID: receiptID)
    }

    /// Records `message.resealed` for `d` (a message's dispatch, or its Meddelandekvittens' with
    /// `receiptID`) sealed again as `fresh` with `xhe`, logs it, and returns `d` carrying the new wire.
    private func recordResealed(_ d: DispatchRecord, of record: MessageRecord, for recipient: String,
                                changed: (as4: Bool, o2o: Bool, endpoint: Bool), xhe: [UInt8], fresh: DispatchRecord,
                                what: String, receiptID: String? = nil) async throws(NodeError) -> DispatchRecord {
        let reason = [changed.as4 ? "the AS4 certificate" : nil, changed.o2o ? "the O2O certificate" : nil,
                      changed.endpoint ? "the endpoint" : nil].compactMap { $0 }.joined(separator: " and ")
        var payload: [String: JSONValue] = ["participant": .string(record.participant), "as4_message_id": .string(d.as4MessageId),
                                            "kind": .string(d.kind.rawValue),
                                            "reason": ["code": "certificate_replaced", "detail": .string("\(recipient) replaced \(reason)")],
                                            "xhe": BlobField.json(try putBlob(xhe)), "dispatch": fresh.json]
        if let receiptID { payload["receipt_id"] = .string(receiptID) }
        try await append([EventDraft(type: NodeEventType.resealed, subject: NodeEventType.subject(message: record.id), actor: "node",
                                     payload: .object(payload))])
        logger.notice("\(what) sealed again for the recipient's current certificates",
                      metadata: ["message": .string(record.id), "as4_message_id": .string(d.as4MessageId), "reason": .string(reason)])
        var updated = d
        updated.takeWire(of: fresh)
        return updated
    }
}
