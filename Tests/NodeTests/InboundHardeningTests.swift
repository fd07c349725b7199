import Foundation
import Ledger
import Node
import Projections
import Transport
import XCTest

/// What a federation member with valid certificates could make the node record or reveal:
/// each test sends node B a hostile but correctly signed and encrypted XHE through B's AS4
/// endpoint and checks B's Meddelandekvittens and ledger.
final class InboundHardeningTests: XCTestCase {
    /// The SDK message claims another organisation's functional address as sender: REJECTED (BV),
    /// nothing filed under the claimed address.
    func testSenderMustBeTheSigningFromParty() async throws {
        let h = try await HostileSender.make("sender-binding")
        defer { Task { await h.close() } }
        let id = UUID().uuidString.lowercased()
        let claimed = FunctionalAddress(participant: "0203:other.example.se", function: "socialtjansten")
        let record = try await h.deliverAndAnswer(
            try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id, sender: claimed)), id: id)
        XCTAssertEqual(record.status, .rejected)
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["BV"], "\(String(describing: record.verdict))")
        XCTAssertTrue(record.verdict?.lines.first?.reason.contains("FromParty") == true, "\(String(describing: record.verdict))")
        XCTAssertNil(record.sdkMessage)
        XCTAssertNotEqual(record.from, claimed)
        // The recipient named inside the message must be the function the XHE addresses too.
        let id2 = UUID().uuidString.lowercased()
        let other = FunctionalAddress(participant: DemoNetwork.b.participant, function: "ekonomi")
        let r2 = try await h.deliverAndAnswer(try h.xhe(id: id2, payload: HostileSender.sdkMessage(id: id2, recipient: other)), id: id2)
        XCTAssertEqual(r2.status, .rejected)
        XCTAssertEqual(r2.verdict?.lines.map(\.code), ["BV"], "\(String(describing: r2.verdict))")
    }

    /// A Meddelandekvittens (or any non-SDK-message document) sent with the message action is not
    /// an accepted message with nothing stored: it is REJECTED.
    func testPayloadMustBeAnSDKMessageForTheMessageAction() async throws {
        let h = try await HostileSender.make("doctype")
        defer { Task { await h.close() } }
        let receipt = MessageReceipt(id: UUID().uuidString.lowercased(), issueDate: "2026-12-01", issueTime: "10:00:00Z",
                                     sender: DemoNetwork.a.participant, receiver: DemoNetwork.b.participant,
                                     documentReference: UUID().uuidString.lowercased(), status: .accepted).xml(declaration: false)
        // Declared as a Meddelandekvittens in the XHE: the AS4 action disagrees, refused on arrival.
        let id = UUID().uuidString.lowercased()
        let reply = try await h.post(try h.xhe(id: id, payload: receipt, documentType: .meddelandekvittens), conversationId: id)
        XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains("EBMS:0003"))
        XCTAssertNil(try h.b.snapshot().messages[id])
        // Declared as an SDK message, but the encrypted payload is a Meddelandekvittens: REJECTED.
        let id2 = UUID().uuidString.lowercased()
        let record = try await h.deliverAndAnswer(try h.xhe(id: id2, payload: receipt, documentType: .sdkMessage), id: id2)
        XCTAssertEqual(record.status, .rejected)
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["SV"], "\(String(describing: record.verdict))")
        XCTAssertNil(record.sdkMessage)
    }

    /// A function the recipient organisation does not have is refused (BV), unless the
    /// participant configured a catch-all mailbox, which then receives it.
    func testUnknownFunctionIsRejectedUnlessACatchAllIsConfigured() async throws {
        let h = try await HostileSender.make("unknown-function")
        let id = UUID().uuidString.lowercased()
        let unknown = FunctionalAddress(participant: DemoNetwork.b.participant, function: "finns-inte")
        let record = try await h.deliverAndAnswer(
            try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id, recipient: unknown), function: unknown.function), id: id)
        XCTAssertEqual(record.status, .rejected)
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["BV"], "\(String(describing: record.verdict))")
        XCTAssertTrue(record.verdict?.lines.first?.reason.contains("finns-inte") == true, "\(String(describing: record.verdict))")
        XCTAssertNotEqual(record.to, unknown, "filed under a mailbox that does not exist")
        XCTAssertNil(record.sdkMessage)
        await h.b.close()

        // With a catch-all mailbox the message is accepted there.
        var config = try NodeConfig.load(directory: h.b.directory)
        config.participants[0].catchAllFunction = DemoNetwork.b.function
        try config.save(directory: h.b.directory)
        let b = try NodeFixture.open(h.b.directory)
        let h2 = HostileSender(base: h.base, a: h.a, b: b, route: h.route)
        defer { Task { await h2.close() } }
        let id2 = UUID().uuidString.lowercased()
        let r2 = try await h2.deliverAndAnswer(
            try h2.xhe(id: id2, payload: HostileSender.sdkMessage(id: id2, recipient: unknown), function: unknown.function), id: id2)
        XCTAssertEqual(r2.status, .accepted, "\(String(describing: r2.verdict))")
        XCTAssertEqual(r2.to, NodeFixture.b)
    }

    /// Every way the payload can fail to decrypt or to parse after decryption gives the same
    /// single SIG line with the same fixed text: no padding oracle.
    func testDecryptionFailuresAreIndistinguishable() async throws {
        let h = try await HostileSender.make("oracle")
        defer { Task { await h.close() } }
        let recipient = h.route.o2oCertificate
        func encrypted(_ plain: [UInt8]) throws -> EncryptedData { try XMLEncryption.encrypt(plain, to: recipient) }
        var variants: [(String, EncryptedData)] = []
        var badPadding = try encrypted(HostileSender.sdkMessage(id: "x"))
        badPadding.cipherValue[badPadding.cipherValue.count - 1] ^= 0x5A
        badPadding.cipherValue[badPadding.cipherValue.count - 17] ^= 0x01
        variants.append(("bad CBC padding", badPadding))
        variants.append(("not XML after decryption", try encrypted(Array("<a><b></a>".utf8))))
        variants.append(("not UTF-8 after decryption", try encrypted([0xFF, 0xFE, 0x3C, 0x00, 0x61, 0x00])))
        var badKey = try encrypted(HostileSender.sdkMessage(id: "y"))
        badKey.encryptedKey.cipherValue[5] ^= 0xFF
        variants.append(("key does not unwrap", badKey))
        var truncated = try encrypted(HostileSender.sdkMessage(id: "z"))
        truncated.cipherValue.removeLast(5)
        variants.append(("ciphertext of a bad length", truncated))
        var answers: [String: [MessageRecord.Verdict.Line]] = [:]
        for (name, data) in variants {
            let id = UUID().uuidString.lowercased()
            let record = try await h.deliverAndAnswer(try h.xhe(id: id, encrypted: data), id: id)
            XCTAssertEqual(record.status, .rejected, name)
            answers[name] = record.verdict?.lines ?? []
        }
        let distinct = Set(answers.values.map { $0.map { "\($0.code)|\($0.lineID)|\($0.reason)" } })
        XCTAssertEqual(distinct.count, 1, "the answers differ by failure: \(answers)")
        XCTAssertEqual(answers.values.first?.map(\.code), ["SIG"])
    }

    /// A PayloadContent that cannot be read (an EncryptedData whose CipherValue is not base64),
    /// correctly signed: arrival reads only the header and stores it; the answer is a REJECTED
    /// Meddelandekvittens, never a retry loop on our side.
    func testUnreadablePayloadContentIsRejectedNotRetried() async throws {
        let h = try await HostileSender.make("payload-content")
        defer { Task { await h.close() } }
        let id = UUID().uuidString.lowercased()
        let good = try h.xhe(id: id, encrypted: try XMLEncryption.encrypt(HostileSender.sdkMessage(id: id), to: h.route.o2oCertificate))
        var text = String(decoding: good, as: UTF8.self)
        // Strip the signature and break the data CipherValue, then sign again: a valid signature
        // over an unreadable payload.
        let signature = try XCTUnwrap(text.range(of: "<ds:Signature[\\s\\S]*</ds:Signature>", options: .regularExpression))
        text.removeSubrange(signature)
        let values = text.ranges(of: "<xenc:CipherValue>")
        let last = try XCTUnwrap(values.last)
        text.insert(contentsOf: "%%%not base64%%%", at: last.upperBound)
        let broken = try XMLSigner.signEnveloped(Array(text.utf8), identity: h.signer)
        let record = try await h.deliverAndAnswer(broken, id: id)
        XCTAssertEqual(record.status, .rejected)
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["SV"], "\(String(describing: record.verdict))")
        XCTAssertTrue(record.verdict?.lines.first?.reason.contains("PayloadContent cannot be read") ?? false, "\(String(describing: record.verdict))")
    }

    /// A signature that does not hold is answered before any validation: one SIG line, no SV/BV
    /// lines computed from the content of an unauthenticated document.
    func testSignatureIsCheckedBeforeValidation() async throws {
        let h = try await HostileSender.make("sig-first")
        defer { Task { await h.close() } }
        let id = UUID().uuidString.lowercased()
        // Another organisation as FromParty (not the signer), and a creation time that is no
        // xs:dateTime (a schema violation the answer must not mention).
        let other = "0203:other.example.se"
        let record = try await h.deliverAndAnswer(
            try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id), fromParty: other, created: "i går"), id: id,
            originalSender: other)
        XCTAssertEqual(record.status, .rejected)
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["SIG"], "\(String(describing: record.verdict))")
    }

    /// Thousands of violations never push the Meddelandekvittens past the event size limit: the
    /// lines are capped, the answer is recorded once and nothing is retried forever.
    func testManyViolationsAreCapped() async throws {
        let h = try await HostileSender.make("many-violations")
        defer { Task { await h.close() } }
        let id = UUID().uuidString.lowercased()
        var message = HostileSender.sdkMessage(id: id)
        let close = try XCTUnwrap(message.firstIndex(of: UInt8(ascii: ">")))
        let attributes = (0..<2000).map { " unexpected-attribute-number-\($0)=\"value\"" }.joined()
        message.insert(contentsOf: Array(attributes.utf8), at: close)
        let record = try await h.deliverAndAnswer(try h.xhe(id: id, payload: message), id: id)
        XCTAssertEqual(record.status, .rejected)
        let lines = try XCTUnwrap(record.verdict?.lines)
        XCTAssertLessThanOrEqual(lines.count, 101)
        XCTAssertTrue(lines.last?.reason.contains("more") == true, "\(lines.last.map { "\($0)" } ?? "")")
        let event = try XCTUnwrap(try h.receiptEvent(id))
        XCTAssertLessThan(event.body.count, 64 << 10)
    }

    /// A message refused on arrival (its XHE ID is already used) leaves no blob behind that no
    /// event accounts for.
    func testRefusedMessageLeavesNoOrphanBlobs() async throws {
        let h = try await HostileSender.make("orphans")
        defer { Task { await h.close() } }
        let id = UUID().uuidString.lowercased()
        _ = try await h.deliverAndAnswer(try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id)), id: id)
        let before = try blobFiles(h.b)
        let second = try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id, label: "Samma id, annat innehåll"))
        let reply = try await h.post(second, conversationId: id)
        XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains("EBMS:0003"), String(decoding: reply.body, as: UTF8.self))
        XCTAssertEqual(try blobFiles(h.b), before, "a refused message left blobs")
    }

    private func blobFiles(_ node: Node) throws -> Set<String> {
        try node.ledger.storedBlobHashes()
    }
}
