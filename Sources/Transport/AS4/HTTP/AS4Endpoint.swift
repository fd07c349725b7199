package import NIOCore
package import Foundation

/// Where verified inbound messages go. The node stores them in the ledger before the receipt is
/// sent; throwing an ``EbMSError`` (e.g. ``EbMSError/notServiced``) refuses the message.
package protocol AS4Delivery: Sendable {
    /// Stores `inbound`. `receipt` is the signed receipt the endpoint will answer with (a store
    /// may keep it together with the message, in one durable write).
    func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws
    /// Told about every message answered with an error signal (`userMessage` is nil when the
    /// request was refused before its signature and certificate were verified), so the node can
    /// record the refusal.
    func refused(_ error: EbMSError, userMessage: UserMessage?) async
    /// Told why a request was answered 503 (the peer only reads ``PeerText/unavailable``).
    func unavailable(_ detail: String) async
}

extension AS4Delivery {
    package func refused(_ error: EbMSError, userMessage: UserMessage?) async {}
    package func unavailable(_ detail: String) async {}
}

/// The HTTP answer to one AS4 request.
package struct AS4Reply: Sendable {
    /// 200 with a signal (receipt or error), or 503 when the message could not be stored for a
    /// reason on our side that may pass (storage, a parallel delivery of the same message): no
    /// signal then, so the sender's reception awareness sends it again.
    package var status: Int
    package var contentType: String
    package var body: [UInt8]

    static func signal(_ soap: [UInt8]) -> AS4Reply {
        AS4Reply(status: 200, contentType: "application/soap+xml; charset=UTF-8", body: soap)
    }
}

/// Thrown by an ``AS4Delivery`` (or a ``DuplicateStore``) when the message cannot be stored now
/// but may be later: the endpoint answers HTTP 503 without a signal, never a final ebMS error.
package struct AS4TemporarilyUnavailable: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// The receiving side of the MSH, independent of the HTTP server: reads a request body (streamed
/// into the MIME parser under a size limit), opens the message, detects duplicates, delivers it,
/// and answers with a signed receipt or a signed error signal.
package struct AS4Endpoint: Sendable {
    package let opener: AS4Opener
    /// Signs receipts and errors with our AS4 identity.
    package let sealer: AS4Sealer
    package let delivery: any AS4Delivery
    package let duplicates: (any DuplicateStore)?
    package var maxMessageBytes: Int
    /// Apply ``SDKAccessPointChecks`` to the `cid:message` payload (an XHE) before delivery.
    package var checkSDKEnvelope: Bool
    /// Requests in progress at once, in total and per peer.
    package var admission: AdmissionControl
    /// The processing budget, in MiB of request body: a request holds as many units as its body
    /// has MiB from opening (parsing, verifying, decrypting, decompressing) through the envelope
    /// check and delivery, so waiting requests hold only their spooled bodies and the memory
    /// worked on at once stays bounded whatever peers send. The node shares one budget between
    /// this endpoint and its Meddelandekvittens worker.
    package var processing: AsyncLimiter

    package init(opener: AS4Opener, sealer: AS4Sealer, delivery: any AS4Delivery, duplicates: (any DuplicateStore)?,
                 maxMessageBytes: Int = 200 << 20, checkSDKEnvelope: Bool = false,
                 admission: AdmissionControl = AdmissionControl(), processing: AsyncLimiter = AsyncLimiter(48)) {
        self.admission = admission
        self.processing = processing
        self.opener = opener
        self.sealer = sealer
        self.delivery = delivery
        self.duplicates = duplicates
        self.maxMessageBytes = maxMessageBytes
        self.checkSDKEnvelope = checkSDKEnvelope
    }

    /// Processes one request from `peer` (its remote address); returns the answer: a signal
    /// (receipt or error), 503 when the message could not be stored for a passing reason or the
    /// node is at its request bound, 429 when this peer is at its own. The texts of 503 and 429
    /// are the fixed ``PeerText`` ones; the cause goes to ``AS4Delivery/unavailable(_:)``.
    package func handle<Body: AsyncSequence>(contentType: String?, body: Body, peer: String = "", now: Date = Date()) async -> AS4Reply
        where Body.Element == ByteBuffer
    {
        switch admission.admit(peer) {
        case .admitted: break
        case .full:
            return AS4Reply(status: 503, contentType: "text/plain; charset=UTF-8", body: Array(PeerText.unavailable.utf8))
        case .peerFull:
            return AS4Reply(status: 429, contentType: "text/plain; charset=UTF-8", body: Array(PeerText.tooManyRequests.utf8))
        }
        defer { admission.release(peer) }
        do {
            return .signal(try await process(contentType: contentType, body: body, now: now))
        } catch {
            await delivery.unavailable(error.description)
            return AS4Reply(status: 503, contentType: "text/plain; charset=UTF-8", body: Array(PeerText.unavailable.utf8))
        }
    }

    /// The signal for one request; throws ``AS4TemporarilyUnavailable`` for a 503.
    private func process<Body: AsyncSequence>(contentType: String?, body: Body, now: Date) async throws(AS4TemporarilyUnavailable) -> [UInt8]
        where Body.Element == ByteBuffer
    {
        var opened: UserMessage?
        do {
            let (soap, attachments) = try await read(contentType: contentType, body: body)
            var units = try await processing.acquire(AsyncLimiter.mebibytes(attachments.reduce(soap.count) { $0 + $1.body.count }))
            defer { processing.release(units) }
            var inbound = try await opener.open(soap: soap, attachments: attachments, at: now)
            // What is parsed from here on is the decompressed payload, which a gzip body may make
            // far larger than what was charged: charge that (giving the units back first, never
            // waiting for more while holding some, so two such requests cannot block each other).
            let needed = AsyncLimiter.mebibytes(inbound.payloads.values.reduce(soap.count) { $0 + $1.count })
            if needed > units {
                processing.release(units)
                units = 0
                units = try await processing.acquire(needed)
            }
            opened = inbound.userMessage
            let messageId = inbound.userMessage.messageId
            if let duplicates, let earlier = try await lookup(duplicates, messageId) {
                return earlier
            }
            if checkSDKEnvelope { inbound.xheHeader = try checkEnvelope(inbound) }
            // Signed with the identity the sender encrypted to: during an overlap after our AS4
            // certificate was replaced, a sender that still knows the old one gets a receipt it
            // can match to it.
            var signer = sealer
            if let recipient = inbound.recipient, recipient.certificate != sealer.signer.certificate {
                signer = AS4Sealer(pmode: sealer.pmode, signer: recipient)
                signer.signsTimestamp = sealer.signsTimestamp
            }
            let receipt = try signer.seal(SignalMessage(messageId: Self.newMessageID(), timestamp: AS4Time.string(now),
                                                        refToMessageId: messageId, content: .receipt(inbound.signedReferences)),
                                          now: now).soap
            do { try await delivery.deliver(inbound, receipt: receipt) } catch let e as EbMSError {
                var e = e
                e.refToMessageId = messageId
                throw e
            } catch let e as AS4TemporarilyUnavailable {
                throw e
            } catch {
                throw AS4TemporarilyUnavailable("the message could not be stored: \(error)")
            }
            if let duplicates {
                let first = try await remember(duplicates, messageId, receipt)
                if !first, let earlier = try await lookup(duplicates, messageId) { return earlier }
            }
            return receipt
        } catch let e as EbMSError {
            await delivery.refused(e, userMessage: opened)
            return errorSignal(e, now: now)
        } catch let e as AS4TemporarilyUnavailable {
            throw e
        } catch {
            var e = EbMSError.internalFailure("\(error)")
            e.refToMessageId = opened?.messageId
            await delivery.refused(e, userMessage: opened)
            return errorSignal(e, now: now)
        }
    }

    /// The AS4 header must agree with the XHE it carries (only the envelope is read: payload
    /// validation belongs in the Meddelandekvittens, never in the AS4 response).
    private func checkEnvelope(_ inbound: AS4Opener.Inbound) throws -> XHEEnvelope {
        let id = inbound.userMessage.messageId
        guard let spool = inbound.payloads[SDKAS4.messagePartID] else {
            throw EbMSError(code: "EBMS:0003", shortDescription: "ValueInconsistent", category: "Content",
                            detail: "no cid:\(SDKAS4.messagePartID) payload (the XHE)", refToMessageId: id)
        }
        // The XHE is read into memory only when it can be one: an SDK message is at most 30 MB,
        // so its XHE at most XMLLimits.sdk (48 MiB); a larger payload (a gzip bomb, say) is refused
        // from its spool without being loaded.
        guard spool.count <= XMLLimits.sdk.maxDocumentBytes else {
            var e = EbMSError.other(PeerText.tooLarge).withInternalDetail("the cid:message payload is \(spool.count) bytes decompressed")
            e.refToMessageId = id
            throw e
        }
        // Only the header is read, from the spool in chunks: the payload stays in libxml2's tree
        // and is not copied, decoded or decrypted here.
        let envelope: XHEEnvelope
        do { envelope = try XHEEnvelope(headerOf: try XMLDocument(spool: spool, copyTextsUpTo: XMLLimits.headerText)) }
        catch XMLError.inputUnreadable(let why) { throw AS4TemporarilyUnavailable("the payload spool cannot be read: \(why)") }
        catch {
            throw EbMSError(code: "EBMS:0003", shortDescription: "ValueInconsistent", category: "Content",
                            detail: "the cid:message payload is not a readable XHE: \(error)", refToMessageId: id)
        }
        do { try SDKAccessPointChecks.check(inbound.userMessage, xhe: envelope) } catch {
            var e = error
            e.refToMessageId = id
            throw e
        }
        return envelope
    }

    private func lookup(_ store: any DuplicateStore, _ id: String) async throws(AS4TemporarilyUnavailable) -> [UInt8]? {
        do { return try await store.receipt(for: id) } catch {
            throw AS4TemporarilyUnavailable("duplicate detection is unavailable: \(error)")
        }
    }

    private func remember(_ store: any DuplicateStore, _ id: String, _ receipt: [UInt8]) async throws(AS4TemporarilyUnavailable) -> Bool {
        do { return try await store.remember(messageId: id, receipt: receipt) } catch {
            throw AS4TemporarilyUnavailable("duplicate detection is unavailable: \(error)")
        }
    }

    private func errorSignal(_ e: EbMSError, now: Date) -> [UInt8] {
        let signal = SignalMessage(messageId: Self.newMessageID(), timestamp: AS4Time.string(now), refToMessageId: e.refToMessageId,
                                   content: .errors([e]))
        if let signed = try? sealer.seal(signal, now: now) { return signed.soap }
        // Signing failed (our key is unusable): answer unsigned rather than not at all.
        var w = XMLWriter(declaration: false)
        w.start("S12:Envelope", ["xmlns:S12": AS4Namespaces.soap, "xmlns:eb": AS4Namespaces.eb])
        w.start("S12:Header")
        w.start("eb:Messaging", ["S12:mustUnderstand": "true"])
        signal.write(to: &w)
        w.end()
        w.end()
        w.start("S12:Body")
        w.end()
        w.end()
        return w.bytes
    }

    /// Reads the body: multipart/related into parts, or a bare SOAP envelope.
    private func read<Body: AsyncSequence>(contentType: String?, body: Body) async throws -> ([UInt8], [MIMEPart])
        where Body.Element == ByteBuffer
    {
        guard let contentType, let type = ContentType(contentType) else {
            throw EbMSError.invalidHeader("the request has no Content-Type")
        }
        var total = 0
        func count(_ n: Int) throws {
            total += n
            if total > maxMessageBytes {
                throw EbMSError.other(PeerText.tooLarge).withInternalDetail("the body passed \(maxMessageBytes) bytes")
            }
        }
        // The SOAP envelope's own limit applies while it streams, never after buffering.
        let maxEnvelope = opener.limits.maxDocumentBytes
        func envelopeTooLarge(_ n: Int) -> EbMSError {
            EbMSError.invalidHeader(PeerText.envelopeTooLarge).withInternalDetail("the SOAP envelope passed \(maxEnvelope) bytes (\(n) read)")
        }
        switch type.mediaType {
        case "multipart/related":
            guard let boundary = type.parameters["boundary"], !boundary.isEmpty else {
                throw EbMSError.invalidHeader("multipart/related without a boundary")
            }
            let parser = MIMEMultipartParser(boundary: boundary)
            for try await chunk in body {
                try count(chunk.readableBytes)
                try chunk.withUnsafeReadableBytes { try parser.feed($0) }
            }
            let parts: [MIMEPart]
            do { parts = try parser.finish() } catch { throw EbMSError.invalidHeader("\(error)") }
            let (soap, rest) = try AS4Opener.soapPart(parts, contentType: type)
            guard soap.body.count <= maxEnvelope else { throw envelopeTooLarge(soap.body.count) }
            return (try soap.body.bytes(), rest)
        case "application/soap+xml":
            var soap: [UInt8] = []
            for try await chunk in body {
                try count(chunk.readableBytes)
                guard soap.count + chunk.readableBytes <= maxEnvelope else { throw envelopeTooLarge(soap.count + chunk.readableBytes) }
                soap.append(contentsOf: chunk.readableBytesView)
            }
            return (soap, [])
        default:
            throw EbMSError.invalidHeader("Content-Type \(type.mediaType) is not an AS4 message")
        }
    }

    /// A new eb:MessageId (`<uuid>@kvitto`).
    package static func newMessageID() -> String { UUID().uuidString.lowercased() + "@kvitto" }
}
