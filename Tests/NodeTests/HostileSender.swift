import Foundation
import Ledger
import NIOCore
import Node
import Projections
import Transport
import X509
import XCTest

/// A federation member with valid certificates (node A's AS4 and O2O identities) that sends node
/// B whatever it likes: XHEs with chosen parties, functions, document types and payloads, sealed
/// and signed as the real profile requires, handed to B's AS4 endpoint in process (the same code
/// the HTTPS server runs). B's answer (the Meddelandekvittens) is produced by B's own worker step.
struct HostileSender {
    let base: String
    let a: Node
    let b: Node
    let route: Route

    static func make(_ label: String) async throws -> HostileSender {
        let (base, dirA, dirB) = try await NodeFixture.network(label, tls: false, retries: 0, interval: 1)
        let a = try NodeFixture.open(dirA)
        let b = try NodeFixture.open(dirB)
        let found = try await a.router.route(to: DemoNetwork.b.participant)
        let route = try XCTUnwrap(found)
        return HostileSender(base: base, a: a, b: b, route: route)
    }

    func close() async {
        await a.close()
        await b.close()
        try? FileManager.default.removeItem(atPath: base)
    }

    var signer: SigningIdentity { a.keys.o2o[DemoNetwork.a.participant]! }

    /// An SDK message v3 from `sender` to `recipient`.
    static func sdkMessage(id: String, sender: FunctionalAddress = NodeFixture.a, recipient: FunctionalAddress = NodeFixture.b,
                           label: String = "Test") -> [UInt8] {
        let now = SDKMessage.timestamp(Date())
        return SDKMessage(
            header: .init(creationDateTime: now, messageId: id, conversationId: id, label: label, confidentiality: false,
                          recipient: .init(id: .participant(recipient.participant),
                                           attention: .init(subOrganization: .init(id: .functionalAddress(recipient.function)))),
                          sender: .init(id: .participant(sender.participant),
                                        attention: .init(subOrganization: .init(id: .functionalAddress(sender.function))))),
            documents: [.init(documentID: "1", files: [], texts: ["Hej."])]).xml(declaration: false)
    }

    /// An XHE around `payload` (plain XML), encrypted to B's O2O certificate and signed by `signer`.
    func xhe(id: String, payload: [UInt8], fromParty: String = DemoNetwork.a.participant, toParty: String = DemoNetwork.b.participant,
             function: String? = DemoNetwork.b.function, documentType: XHEEnvelope.DocumentType = .sdkMessage,
             created: String? = nil, signer: SigningIdentity? = nil) throws -> [UInt8] {
        try XHESecurity.seal(envelope(id: id, content: .xml(payload), fromParty: fromParty, toParty: toParty, function: function,
                                      documentType: documentType, created: created),
                             model: .signedAndEncrypted, signer: signer ?? self.signer, recipient: route.o2oCertificate)
    }

    /// An XHE whose PayloadContent is `encrypted` as given (possibly tampered), signed by A.
    func xhe(id: String, encrypted: EncryptedData) throws -> [UInt8] {
        try XMLSigner.signEnveloped(envelope(id: id, content: .encrypted(encrypted)).xml(), identity: signer)
    }

    func envelope(id: String, content: XHEEnvelope.Content, fromParty: String = DemoNetwork.a.participant,
                  toParty: String = DemoNetwork.b.participant, function: String? = DemoNetwork.b.function,
                  documentType: XHEEnvelope.DocumentType = .sdkMessage, created: String? = nil) -> XHEEnvelope {
        XHEEnvelope(id: id, creationDateTime: created ?? SDKMessage.timestamp(Date()),
                    businessScope: XHEEnvelope.businessScope(for: documentType, model: .signedAndEncrypted),
                    fromParty: fromParty, toParty: toParty,
                    payload: .init(documentTypeCode: documentType.documentTypeCode, handlingServiceID: function, content: content))
    }

    /// Seals `xhe` as an AS4 UserMessage from A's access point to B's and hands it to B's endpoint.
    func post(_ xhe: [UInt8], conversationId: String, action: String = SDKAS4.messageAction,
              originalSender: String = DemoNetwork.a.participant, finalRecipient: String = DemoNetwork.b.participant) async throws -> AS4Reply {
        let user = UserMessage(
            messageId: AS4Endpoint.newMessageID(), timestamp: AS4Time.string(Date()),
            from: .init(id: a.config.as4.partyId, type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
            to: .init(id: route.partyId, type: SDKAS4.partyType, role: SDKAS4.responderRole),
            service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: action, conversationId: conversationId,
            properties: [.init(name: "originalSender", type: SDKAS4.participantScheme, value: originalSender),
                         .init(name: "finalRecipient", type: SDKAS4.participantScheme, value: finalRecipient)],
            parts: [])
        let wire = try AS4Sealer(pmode: a.pmode, signer: a.keys.as4).seal(
            user, payloads: [AS4Payload(contentID: SDKAS4.messagePartID, mimeType: "application/xml", content: Spool(bytes: xhe))],
            recipient: route.as4Certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        return await b.endpoint().handle(contentType: contentType, body: Chunks([ByteBuffer(bytes: body)]))
    }

    /// Posts `xhe` and runs B's answer step; returns B's record of the message.
    func deliverAndAnswer(_ xhe: [UInt8], id: String, originalSender: String = DemoNetwork.a.participant,
                          file: StaticString = #filePath, line: UInt = #line) async throws -> MessageRecord {
        let reply = try await post(xhe, conversationId: id, originalSender: originalSender)
        XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self), file: file, line: line)
        XCTAssertFalse(String(decoding: reply.body, as: UTF8.self).contains("eb:Error"), String(decoding: reply.body, as: UTF8.self),
                       file: file, line: line)
        let record = try XCTUnwrap(try b.snapshot().messages[id], "B did not record \(id)", file: file, line: line)
        try await b.answer(record)
        return try XCTUnwrap(try b.snapshot().messages[id], file: file, line: line)
    }

    /// The `message.receipt.sent` event B appended for `id`.
    func receiptEvent(_ id: String) throws -> Event? {
        try NodeFixture.events(b, "message.receipt.sent", message: id).first
    }
}

/// A request body as an async sequence of buffers.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]
    init(_ buffers: [ByteBuffer]) { self.buffers = buffers }

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [ByteBuffer]
        mutating func next() async throws -> ByteBuffer? { rest.isEmpty ? nil : rest.removeFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: buffers) }
}
