import Foundation
import Ledger
import Projections
import Transport
import X509

extension Node {
    /// One AS4 attempt of a dispatch: `message.dispatched` first (so an attempt interrupted by a
    /// crash is visible), then the post, then its outcome as events — `transport.receipt.received`,
    /// or `transport.error.received` + `message.delivery.failed`, or `transport.attempt.failed`
    /// with the next attempt's time (+ `message.delivery.failed` when no retry is left).
    func attempt(_ dispatch: DispatchRecord, now: Date = Date()) async throws(NodeError) {
        // Sealed again first when the recipient's certificates were replaced meanwhile.
        let d = try await resealed(dispatch, now: now)
        let n = d.attemptsStarted
        let subject = NodeEventType.subject(message: d.messageId)
        func draft(_ type: String, _ payload: [String: JSONValue]) -> EventDraft {
            var p = payload
            p["participant"] = .string(d.participant)
            p["as4_message_id"] = .string(d.as4MessageId)
            p["kind"] = .string(d.kind.rawValue)
            return EventDraft(type: type, subject: subject, actor: "node", payload: .object(p))
        }
        try await append([draft(NodeEventType.dispatched, ["attempt": .int(Int64(n)), "endpoint": .string(d.endpoint)])])
        let wire = try wireMessage(d)
        let certificate: Certificate
        do { certificate = try Certificate(derEncoded: try blob(d.recipientCertificate)) } catch {
            throw NodeError(.storage, "the recipient certificate of \(d.as4MessageId) is unreadable: \(error)")
        }
        var pm = pmode
        pm.receptionAwareness = .init(retries: d.policy.retries, interval: Double(d.policy.intervalMilliseconds) / 1000,
                                      strategy: .init(rawValue: d.policy.strategy) ?? .constant)
        let outcome: AS4Dispatcher.Attempt
        do {
            outcome = try await AS4Dispatcher(client: client, schedule: nil, pmode: pm, trust: keys.as4Trust)
                .attempt(wire, to: d.endpoint, recipient: certificate, attempt: n, now: now)
        } catch { throw NodeError(.storage, "\(error)") }
        if Task.isCancelled, case .retry = outcome {
            // Shutting down: leave the attempt interrupted; the next start retries it at once.
            return
        }
        func reason(_ e: EbMSError) -> JSONValue { ["code": .string(e.code), "detail": .string(e.detail)] }
        var drafts: [EventDraft] = []
        switch outcome {
        case .delivered(let signal, let response):
            drafts.append(draft(NodeEventType.transportReceiptReceived,
                                ["attempt": .int(Int64(n)), "signal_message_id": .string(signal.messageId),
                                 "receipt": BlobField.json(try putBlob(response))]))
            logger.info("transport receipt received", metadata: ["message": .string(d.messageId), "as4_message_id": .string(d.as4MessageId),
                                                                 "attempt": .stringConvertible(n)])
        case .rejected(let errors, let response):
            let first = errors.first ?? .other("an error signal without errors")
            drafts.append(draft(NodeEventType.transportErrorReceived,
                                ["attempt": .int(Int64(n)), "reason": reason(first),
                                 "errors": .array(errors.map { ["code": .string($0.code), "short_description": .string($0.shortDescription),
                                                               "detail": .string($0.detail)] }),
                                 "response": BlobField.json(try putBlob(response))]))
            drafts.append(draft(NodeEventType.deliveryFailed, ["reason": reason(first), "attempts": .int(Int64(n + 1))]))
            logger.warning("the recipient access point refused the message",
                           metadata: ["message": .string(d.messageId), "error": .string(first.description)])
        case .retry(let next, let cause):
            drafts.append(draft(NodeEventType.attemptFailed,
                                ["attempt": .int(Int64(n)), "reason": reason(cause),
                                 "next_attempt_at": .string(Timestamp(nanoseconds: Int64(next.timeIntervalSince1970 * 1e9)).rfc3339)]))
            logger.notice("attempt failed; retry scheduled", metadata: ["message": .string(d.messageId), "attempt": .stringConvertible(n),
                                                                         "error": .string(cause.description)])
        case .failed(let e):
            drafts.append(draft(NodeEventType.attemptFailed, ["attempt": .int(Int64(n)), "reason": reason(e), "next_attempt_at": .null]))
            drafts.append(draft(NodeEventType.deliveryFailed, ["reason": reason(e), "attempts": .int(Int64(n + 1))]))
            logger.error("delivery failed", metadata: ["message": .string(d.messageId), "error": .string(e.description)])
        }
        try await append(drafts)
    }

    /// The sealed wire message of a dispatch, read back from the blob store.
    func wireMessage(_ d: DispatchRecord) throws(NodeError) -> AS4WireMessage {
        var attachments: [AS4Attachment] = []
        for a in d.attachments {
            attachments.append(AS4Attachment(contentID: a.contentID, contentType: a.contentType, body: Spool(bytes: try blob(a.blob))))
        }
        return AS4WireMessage(soap: try blob(d.soap), attachments: attachments,
                              signedReferences: d.signedReferences.compactMap(SignedReferenceJSON.parse), messageId: d.as4MessageId)
    }
}
