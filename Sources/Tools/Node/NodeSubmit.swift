package import Foundation
import Ledger
import Projections
import Transport
import X509

extension Node {
    /// Submits a message: builds the SDK message v3, seals it in an XHE (`tm-base-ext-sigenc`:
    /// encrypted to the recipient organisation, signed by ours), seals the AS4 message for the
    /// recipient's access point, stores content and wire as blobs and appends `message.submitted`.
    /// Returns the message id once that event is durable; the dispatch worker sends it. A message
    /// to a participant of this node is handed over in the same append instead (see ``handOver``).
    ///
    /// `validate: false` skips the sender-side SDK validation (only to test how a recipient
    /// answers an invalid message).
    package func submit(_ m: OutboundMessage, actor: String, validate: Bool = true, submissionID: String? = nil, now: Date = Date())
        async throws(NodeError) -> String
    {
        // In progress for the sender (and a recipient served here) until recorded, so a retirement
        // waits for it; a participant being retired takes no new message.
        let participants = keys.participants
        let notServed = NodeError(.notAParticipant, "this node does not serve \(m.from.participant); it serves \(participants.ids.joined(separator: ", "))")
        guard participants.enter([m.from.participant]) else { throw notServed }
        guard let o2o = participants.o2o(m.from.participant) else {
            participants.leave([m.from.participant])
            throw notServed
        }
        let internalRecipient = m.to.participant == m.from.participant || participants.enter([m.to.participant])
        if !internalRecipient, participants.isSuspended(m.to.participant) {
            participants.leave([m.from.participant])
            throw NodeError(.conflict, "\(m.to.participant) is being retired from this node; ask again (if its retirement is refused, it takes messages again)")
        }
        defer { participants.leave(m.to.participant != m.from.participant && internalRecipient ? [m.from.participant, m.to.participant] : [m.from.participant]) }
        let book = try read { try $0.addressBook(participants: [m.from.participant, m.to.participant]) }
        guard book.contains(m.from) else {
            throw NodeError(.unknownAddress, "\(m.from) is not a functional address of \(m.from.participant) in the address book")
        }
        guard book.contains(m.to) else {
            throw NodeError(.unknownAddress, "\(m.to) is not in the address book; add it with `kvitto addressbook add`")
        }
        // A participant of this node gets the message inside the node (see ``handOver``); any
        // other through its access point.
        let route: Route?
        let recipientO2O: Certificate
        if internalRecipient, let own = participants.o2o(m.to.participant) {
            route = nil
            recipientO2O = own.certificate
        } else {
            guard let r = try await router.route(to: m.to.participant) else {
                throw NodeError(.noRoute, "no route to \(m.to.participant): add its access point with `kvitto route add`")
            }
            route = r
            recipientO2O = r.o2oCertificate
        }
        if m.texts.isEmpty && m.attachments.isEmpty {
            throw NodeError(.invalidMessage, "a message needs a text part or an attachment")
        }
        if let c = m.conversation, !MessageIdentifier.isValid(c) {
            throw NodeError(.invalidMessage, "a conversation id is 1–200 letters, digits and ._:@- (the conversation_id of an earlier message)")
        }
        let id = try newMessageID(internal: route == nil)
        // Content encrypted at rest: refused here, before anything is sealed, when the sender's
        // key-encryption key is not available.
        let sealer = try vault.sealer(participant: m.from.participant, message: id, confidential: m.confidential)
        let conversation = m.conversation ?? id
        let created = SDKMessage.timestamp(now)
        let message = SDKMessage(
            header: .init(creationDateTime: created, messageId: id, conversationId: conversation, label: m.label, confidentiality: m.confidential,
                          recipient: .init(id: .participant(m.to.participant), label: book.organization(m.to.participant)?.name,
                                           attention: .init(subOrganization: .init(id: .functionalAddress(m.to.function)),
                                                            references: m.reference.map { [.init(id: .init(root: "reference", extension: $0))] } ?? [])),
                          sender: .init(id: .participant(m.from.participant), label: book.organization(m.from.participant)?.name,
                                        attention: .init(subOrganization: .init(id: .functionalAddress(m.from.function))))),
            documents: [.init(documentID: "1", documentName: m.label,
                              files: m.attachments.map { .init(fileName: $0.fileName, contentType: $0.contentType, content: $0.content) },
                              texts: m.texts)])
        let sdkBytes = message.xml()
        if validate {
            let report: SDKValidator.Report
            do { report = try validator.validate(sdkBytes) } catch { throw NodeError(.invalidMessage, "\(error)") }
            guard report.isValid else {
                throw NodeError(.invalidMessage, report.violations.map(\.description).joined(separator: "; "))
            }
        }
        let envelope = XHEEnvelope(
            id: id, creationDateTime: created, businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .signedAndEncrypted),
            fromParty: m.from.participant, toParty: m.to.participant,
            payload: .init(documentTypeCode: XHEEnvelope.DocumentType.sdkMessage.documentTypeCode, handlingServiceID: m.to.function,
                           content: .xml(message.xml(declaration: false))))
        let xhe: [UInt8]
        do { xhe = try XHESecurity.seal(envelope, model: .signedAndEncrypted, signer: o2o, recipient: recipientO2O) } catch {
            throw NodeError(.keyUnusable, "sealing the XHE for \(m.to.participant): \(error)")
        }
        let dispatch = try route.map { route throws(NodeError) in
            try seal(xhe: xhe, conversationId: conversation, messageId: id, from: m.from.participant, to: m.to.participant, route: route,
                     action: SDKAS4.messageAction, kind: .message, now: now)
        }
        var attachments: [JSONValue] = []
        for a in m.attachments {
            attachments.append(["file_name": .string(a.fileName), "content_type": .string(a.contentType),
                                "blob": BlobField.json(try putContent(a.content, sealer))])
        }
        let xheBlob = try putBlob(xhe)
        var payload: [String: JSONValue] = [
            "participant": .string(m.from.participant), "from": .string(m.from.description), "to": .string(m.to.description),
            "confidential": .bool(m.confidential), "texts": .int(Int64(m.texts.count)), "attachments": .array(attachments),
            "sdk_message": BlobField.json(try putContent(sdkBytes, sealer)), "xhe": BlobField.json(xheBlob),
        ]
        if let sealer { payload["content_encryption"] = sealer.key.json }
        if let dispatch { payload["dispatch"] = dispatch.json } else { payload["transport"] = .string(NodeEventType.internalTransport) }
        if let label = m.label { payload["label"] = .string(label) }
        payload["conversation_id"] = .string(conversation)
        if let reference = m.reference { payload["reference"] = .string(reference) }
        if let submissionID { payload["submission_id"] = .string(submissionID) }
        let submitted = EventDraft(type: NodeEventType.submitted, subject: NodeEventType.subject(message: id), actor: actor,
                                   payload: .object(payload))
        if let dispatch {
            try await append([submitted])
            logger.info("message submitted", metadata: ["message": .string(id), "to": .string(m.to.description),
                                                         "as4_message_id": .string(dispatch.as4MessageId)])
        } else {
            // Submitted and handed over in one append: nothing can be lost between the two.
            try await append([submitted] + handOver(id, xhe: xheBlob, from: m.from, to: m.to, conversation: conversation))
            logger.info("message submitted and delivered inside the node", metadata: [
                "message": .string(id), "to": .string(m.to.description), "recipient_message": .string(NodeEventType.internalCopy(of: id))])
        }
        return id
    }

    /// Stores message content: sealed under the message's data key when `sealer` is given
    /// (content encrypted at rest), else as it is.
    func putContent(_ bytes: [UInt8], _ sealer: ContentSealer?) throws(NodeError) -> BlobRef {
        if let sealer { return try sealer.put(bytes) }
        return try putBlob(bytes)
    }

    /// Seals `xhe` as an AS4 UserMessage to `route` and stores the wire message as blobs: what a
    /// dispatch record needs to send it — and send it again after a restart — unchanged.
    /// `as4MessageId` seals an existing dispatch again under its own MessageId (see ``resealed(_:now:)``).
    func seal(xhe: [UInt8], conversationId: String, messageId: String, from: String, to: String, route: Route, action: String,
              kind: DispatchRecord.Kind, refToMessageId: String? = nil, as4MessageId: String? = nil, now: Date) throws(NodeError) -> DispatchRecord {
        let user = UserMessage(
            messageId: as4MessageId ?? AS4Endpoint.newMessageID(), timestamp: AS4Time.string(now), refToMessageId: refToMessageId,
            from: .init(id: config.as4.partyId, type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
            to: .init(id: route.partyId, type: SDKAS4.partyType, role: SDKAS4.responderRole),
            service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: action, conversationId: conversationId,
            properties: [.init(name: "originalSender", type: SDKAS4.participantScheme, value: from),
                         .init(name: "finalRecipient", type: SDKAS4.participantScheme, value: to)],
            parts: [])
        let wire: AS4WireMessage
        do {
            wire = try AS4Sealer(pmode: pmode, signer: keys.as4).seal(
                user, payloads: [AS4Payload(contentID: SDKAS4.messagePartID, mimeType: "application/xml", content: Spool(bytes: xhe))],
                recipient: route.as4Certificate, now: now)
        } catch { throw NodeError(.keyUnusable, "sealing the AS4 message to \(route.partyId): \(error)") }
        var attachments: [DispatchRecord.WireAttachment] = []
        for a in wire.attachments {
            let bytes: [UInt8]
            do { bytes = try a.body.bytes() } catch { throw NodeError(.storage, "reading the sealed attachment: \(error)") }
            attachments.append(.init(contentID: a.contentID, contentType: a.contentType, blob: try putBlob(bytes)))
        }
        let ra = pmode.receptionAwareness
        var d = DispatchRecord(
            as4MessageId: wire.messageId, messageId: messageId, participant: from, kind: kind, endpoint: route.endpoint,
            recipientCertificate: try putBlob(CertificateFile.der(route.as4Certificate)), soap: try putBlob(wire.soap),
            attachments: attachments, signedReferences: wire.signedReferences.map(SignedReferenceJSON.json),
            policy: .init(retries: ra.retries, intervalMilliseconds: Int64((ra.interval * 1000).rounded()), strategy: ra.strategy.rawValue))
        d.recipientO2OCertificate = try putBlob(CertificateFile.der(route.o2oCertificate))
        return d
    }
}

/// Signed references as stored in dispatch records.
enum SignedReferenceJSON {
    static func json(_ r: SignedReference) -> JSONValue {
        ["uri": .string(r.uri), "transforms": .array(r.transforms.map { .string($0) }),
         "inclusive_prefixes": .array(r.inclusivePrefixes.map { .string($0) }), "digest_method": .string(r.digestMethod),
         "digest": .string(Base64.encode(r.digest))]
    }

    static func parse(_ v: JSONValue) -> SignedReference? {
        guard let uri = v["uri"]?.stringValue, let method = v["digest_method"]?.stringValue,
              let digest = v["digest"]?.stringValue.flatMap({ Base64.decode($0) }) else { return nil }
        return SignedReference(uri: uri, transforms: (v["transforms"]?.arrayElements ?? []).compactMap(\.stringValue),
                               inclusivePrefixes: (v["inclusive_prefixes"]?.arrayElements ?? []).compactMap(\.stringValue),
                               digestMethod: method, digest: digest)
    }
}
