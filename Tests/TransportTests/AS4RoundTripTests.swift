import Foundation
import XCTest
import X509
@testable import Transport

/// Two MSH roles in one process (no HTTP yet): seal → MIME → parse → open → receipt → verify.
final class AS4RoundTripTests: XCTestCase {
    struct Peers {
        let pki: ThrowawayPKI
        let sender: SigningIdentity
        let receiver: SigningIdentity
    }

    static let peers: Peers = {
        do {
            let pki = try ThrowawayPKI(commonName: "AS4 Test CA")
            return Peers(pki: pki, sender: try pki.issue(commonName: "AP-SENDER"), receiver: try pki.issue(commonName: "AP-RECEIVER"))
        } catch { fatalError("\(error)") }
    }()

    func userMessage(id: String = UUID().uuidString.lowercased() + "@kvitto") -> UserMessage { Self.sampleUserMessage(id: id) }

    static func sampleUserMessage(id: String = UUID().uuidString.lowercased() + "@kvitto") -> UserMessage {
        UserMessage(messageId: id, timestamp: AS4Time.string(Date()),
                    from: .init(id: "AP-SENDER", type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
                    to: .init(id: "AP-RECEIVER", type: SDKAS4.partyType, role: SDKAS4.responderRole),
                    service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: SDKAS4.messageAction,
                    conversationId: "xhe-id-1",
                    properties: [.init(name: "originalSender", type: "iso6523-actorid-upis", value: "0203:a.se"),
                                 .init(name: "finalRecipient", type: "iso6523-actorid-upis", value: "0203:b.se")],
                    parts: [])
    }

    /// Seals, writes the HTTP body, parses it and opens it on the receiving side.
    func transmit(_ wire: AS4WireMessage, opener: AS4Opener, mutate: (inout [UInt8]) -> Void = { _ in }) async throws
        -> AS4Opener.Inbound
    {
        var body: [UInt8] = []
        let writer = MIMEMultipartWriter()
        let contentType = try wire.httpBody(writer: writer) { body.append(contentsOf: $0) }
        mutate(&body)
        let type = try XCTUnwrap(ContentType(contentType))
        let parser = MIMEMultipartParser(boundary: try XCTUnwrap(type.parameters["boundary"]))
        try body.withUnsafeBytes { try parser.feed($0) }
        let (soap, rest) = try AS4Opener.soapPart(try parser.finish(), contentType: type)
        return try await opener.open(soap: try soap.body.bytes(), attachments: rest)
    }

    func testRoundTripWithSignedReceipt() async throws {
        let p = Self.peers
        let xhe = try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let wire = try sealer.seal(userMessage(), payloads: [AS4Payload(contentID: "message", mimeType: "application/xml",
                                                                          content: Spool(bytes: xhe))],
                                   recipient: p.receiver.certificate)
        XCTAssertEqual(wire.signedReferences.map(\.uri).filter { $0.hasPrefix("cid:") }, ["cid:message"])
        XCTAssertEqual(wire.signedReferences.count, 4)
        let opener = AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk())
        let inbound = try await transmit(wire, opener: opener)
        XCTAssertEqual(try inbound.payloads["message"]?.bytes(), xhe)
        XCTAssertEqual(inbound.signer, p.sender.certificate)
        XCTAssertEqual(inbound.userMessage.property("finalRecipient"), "0203:b.se")
        // The receiver answers with a signed receipt; the sender verifies it.
        let receipt = SignalMessage(messageId: UUID().uuidString + "@kvitto", timestamp: AS4Time.string(Date()),
                                    refToMessageId: inbound.userMessage.messageId, content: .receipt(inbound.signedReferences))
        let receiptWire = try AS4Sealer(pmode: .sdk(), signer: p.receiver).seal(receipt)
        let outcome = try await AS4ResponseVerifier(expectedSigner: p.receiver.certificate, trust: nil).verify(receiptWire.soap, sent: wire)
        guard case .receipt = outcome else { return XCTFail("not a receipt") }
        // A receipt listing other digests, for another message, or from another signer is invalid.
        var forged = inbound.signedReferences
        forged[0].digest[0] ^= 1
        let forgedWire = try AS4Sealer(pmode: .sdk(), signer: p.receiver).seal(
            SignalMessage(messageId: "r2", timestamp: AS4Time.string(Date()), refToMessageId: wire.messageId, content: .receipt(forged)))
        do {
            _ = try await AS4ResponseVerifier(expectedSigner: p.receiver.certificate, trust: nil).verify(forgedWire.soap, sent: wire)
            XCTFail("a forged receipt was accepted")
        } catch { XCTAssertEqual(error.code, "EBMS:0302") }
        let byOther = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(receipt)
        do {
            _ = try await AS4ResponseVerifier(expectedSigner: p.receiver.certificate, trust: nil).verify(byOther.soap, sent: wire)
            XCTFail("a receipt signed by another certificate was accepted")
        } catch {}
    }

    func testTamperingAndPolicyFailuresGetTheRightEbMSCodes() async throws {
        let p = Self.peers
        let payload = AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<XHE/>".utf8)))
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let opener = AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk())
        func replace(_ body: inout [UInt8], _ find: String, _ with: String) {
            let s = String(decoding: body, as: UTF8.self)
            XCTAssertTrue(s.contains(find), "missing \(find)")
            body = Array(s.replacingOccurrences(of: find, with: with).utf8)
        }
        // Altered header value → signature digest fails.
        await expect("EBMS:0101") {
            _ = try await transmit(try sealer.seal(userMessage(), payloads: [payload], recipient: p.receiver.certificate),
                                   opener: opener) { replace(&$0, "0203:b.se", "0203:c.se") }
        }
        // Altered ciphertext → GCM fails.
        await expect("EBMS:0102") {
            _ = try await transmit(try sealer.seal(userMessage(), payloads: [payload], recipient: p.receiver.certificate),
                                   opener: opener) { body in
                let s = String(decoding: body, as: UTF8.self)
                let marker = "Content-ID: <message>\r\n\r\n"
                let at = s.utf8.count - (s.components(separatedBy: marker).last!.utf8.count) + 20
                body[at] ^= 0xFF
            }
        }
        // Encrypted to someone else.
        let stranger = try p.pki.issue(commonName: "AP-OTHER")
        await expect("EBMS:0102") {
            _ = try await transmit(try sealer.seal(userMessage(), payloads: [payload], recipient: stranger.certificate), opener: opener)
        }
        // Signed by a certificate outside the trust anchors.
        let foreign = try ThrowawayPKI(commonName: "Foreign CA").issue(commonName: "AP-SENDER")
        await expect("EBMS:0101") {
            _ = try await transmit(try AS4Sealer(pmode: .sdk(), signer: foreign).seal(userMessage(), payloads: [payload],
                                                                                        recipient: p.receiver.certificate),
                                   opener: opener)
        }
        // Signer's CN is not the From PartyId.
        var impostor = userMessage()
        impostor.from.id = "AP-SOMEONE-ELSE"
        await expect("EBMS:0101") {
            _ = try await transmit(try sealer.seal(impostor, payloads: [payload], recipient: p.receiver.certificate), opener: opener)
        }
        // Not signed at all.
        var unsignedMode = PMode.sdk()
        unsignedMode.security.sign = false
        await expect("EBMS:0103") {
            _ = try await transmit(try AS4Sealer(pmode: unsignedMode, signer: p.sender).seal(userMessage(), payloads: [payload],
                                                                                               recipient: p.receiver.certificate),
                                   opener: opener)
        }
        // Wrong service.
        var wrongService = userMessage()
        wrongService.service = "other"
        await expect("EBMS:0001") {
            _ = try await transmit(try sealer.seal(wrongService, payloads: [payload], recipient: p.receiver.certificate), opener: opener)
        }
        // Missing finalRecipient.
        var noRecipient = userMessage()
        noRecipient.properties.removeLast()
        await expect("EBMS:0003") {
            _ = try await transmit(try sealer.seal(noRecipient, payloads: [payload], recipient: p.receiver.certificate), opener: opener)
        }
        // A wrapped copy of eb:Messaging under another Id: duplicate Id or unresolvable target.
        await expect("EBMS:0101") {
            _ = try await transmit(try sealer.seal(userMessage(), payloads: [payload], recipient: p.receiver.certificate),
                                   opener: opener) { body in
                let s = String(decoding: body, as: UTF8.self)
                let start = s.range(of: "<eb:Messaging")!.lowerBound, end = s.range(of: "</eb:Messaging>")!.upperBound
                let copy = String(s[start..<end])
                body = Array(s.replacingOccurrences(of: "<S12:Body ", with: "<S12:Body ").replacingOccurrences(
                    of: "</S12:Header>", with: "<Wrapper>\(copy)</Wrapper></S12:Header>").utf8)
            }
        }
    }

    /// Signals written and read back: errors (several, with detail) and a PullRequest.
    func testSignalsRoundTrip() throws {
        for content: SignalMessage.Content in [.errors([.notServiced, .failedDecryption("x")]), .pullRequest(mpc: SDKAS4.defaultMPC),
                                               .pullRequest(mpc: nil)] {
            let signal = SignalMessage(messageId: "s1@kvitto", timestamp: "2026-11-22T10:00:00.000Z", refToMessageId: "m1@kvitto",
                                       content: content)
            var w = XMLWriter(declaration: false)
            w.rawText("<eb:Messaging xmlns:eb=\"\(AS4Namespaces.eb)\" xmlns:ds=\"\(XMLNamespaces.ds)\">")
            signal.write(to: &w)
            w.rawText("</eb:Messaging>")
            let element = try XMLDocument(bytes: w.bytes).root.element(AS4Namespaces.eb, "SignalMessage")!
            var expected = signal
            if case .errors(let errors) = content {
                expected.content = .errors(errors.map { var e = $0; e.refToMessageId = "m1@kvitto"; return e })
            }
            XCTAssertEqual(try SignalMessage(element: element), expected)
        }
    }

    func testEveryKeyReferenceFormDecrypts() async throws {
        let p = Self.peers
        for form in KeyReferenceForm.allCases {
            var mode = PMode.sdk()
            mode.security.encryptedKeyReference = form
            let wire = try AS4Sealer(pmode: mode, signer: p.sender).seal(
                userMessage(), payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<x/>".utf8)))],
                recipient: p.receiver.certificate)
            let inbound = try await transmit(wire, opener: AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()))
            XCTAssertEqual(try inbound.payloads["message"]?.bytes(), Array("<x/>".utf8), form.rawValue)
        }
    }
}
