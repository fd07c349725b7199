import Foundation
import X509
import XCTest
@testable import Transport

/// What a hostile network peer could get past the WS-Security checks and the receipt check:
/// expired or unsigned timestamps, encryption headers that list nothing, error signals nobody
/// signed, receipts from certificates that are no longer acceptable.
final class WSSecurityHardeningTests: XCTestCase {
    let p = AS4RoundTripTests.peers
    var payload: AS4Payload { AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<XHE/>".utf8))) }

    var opener: AS4Opener { AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()) }

    /// `mutate` edits the HTTP body's bytes.
    func open(_ wire: AS4WireMessage, at now: Date = Date(), mutate: (inout [UInt8]) -> Void = { _ in }) async throws -> AS4Opener.Inbound {
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        mutate(&body)
        let type = try XCTUnwrap(ContentType(contentType))
        let parser = MIMEMultipartParser(boundary: try XCTUnwrap(type.parameters["boundary"]))
        try body.withUnsafeBytes { try parser.feed($0) }
        let (soap, rest) = try AS4Opener.soapPart(try parser.finish(), contentType: type)
        return try await opener.open(soap: try soap.body.bytes(), attachments: rest, at: now)
    }

    func testExpiredOrFutureTimestampIsRefused() async throws {
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let user = AS4RoundTripTests.sampleUserMessage()
        // Sealed two days ago: past its wsu:Expires (the reception-awareness window + 10 minutes).
        let old = try sealer.seal(user, payloads: [payload], recipient: p.receiver.certificate, now: Date().addingTimeInterval(-2 * 86_400))
        await expect("EBMS:0103") { _ = try await self.open(old, at: Date()) }
        // Created an hour in the future.
        let future = try sealer.seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload], recipient: p.receiver.certificate,
                                     now: Date().addingTimeInterval(3600))
        await expect("EBMS:0103") { _ = try await self.open(future, at: Date()) }
        // A resend within the SDK window (12 retries, 4 minutes apart) is still accepted.
        let resend = try sealer.seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload], recipient: p.receiver.certificate,
                                     now: Date().addingTimeInterval(-45 * 60))
        _ = try await open(resend, at: Date())
    }

    func testTimestampNotCoveredBySignatureIsRefused() async throws {
        var sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        sealer.signsTimestamp = false
        let wire = try sealer.seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload], recipient: p.receiver.certificate)
        await expect("EBMS:0101") { _ = try await self.open(wire) }
    }

    func testEncryptedKeyMustListItsEncryptedData() async throws {
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let wire = try sealer.seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload], recipient: p.receiver.certificate)
        // The EncryptedKey is not signed: a man in the middle could strip its ReferenceList.
        await expect("EBMS:0102") {
            _ = try await self.open(wire) { body in
                guard let start = Self.find(Array("<xenc:ReferenceList>".utf8), in: body),
                      let end = Self.find(Array("</xenc:ReferenceList>".utf8), in: body) else {
                    return XCTFail("no ReferenceList in the message")
                }
                body.removeSubrange(start..<(end + "</xenc:ReferenceList>".utf8.count))
            }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// An eb:Error answer must be signed by the access point we sent to and refer to our message;
    /// otherwise it proves nothing (EBMS:0302: the sender retries) and cannot end the message.
    func testUnsignedOrMisdirectedErrorSignalIsNoAnswer() async throws {
        let sealer = AS4Sealer(pmode: .sdk(), signer: p.sender)
        let wire = try sealer.seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload], recipient: p.receiver.certificate)
        let verifier = AS4ResponseVerifier(expectedSigner: p.receiver.certificate, trust: p.pki.trust(.as4))
        let error = EbMSError.valueInconsistent("refused")
        // Unsigned, though it names our message.
        var w = XMLWriter(declaration: false)
        w.start("S12:Envelope", ["xmlns:S12": AS4Namespaces.soap, "xmlns:eb": AS4Namespaces.eb])
        w.start("S12:Header")
        w.start("eb:Messaging", ["S12:mustUnderstand": "true"])
        SignalMessage(messageId: "e1@x", timestamp: AS4Time.string(Date()), refToMessageId: wire.messageId, content: .errors([error])).write(to: &w)
        w.end()
        w.end()
        w.start("S12:Body")
        w.end()
        w.end()
        await expect("EBMS:0302") { _ = try await verifier.verify(w.bytes, sent: wire) }
        // Signed by the right access point, but for another message.
        let other = try AS4Sealer(pmode: .sdk(), signer: p.receiver).seal(
            SignalMessage(messageId: "e2@x", timestamp: AS4Time.string(Date()), refToMessageId: "someone-else@x", content: .errors([error])))
        await expect("EBMS:0302") { _ = try await verifier.verify(other.soap, sent: wire) }
        // Signed and for our message: a real refusal.
        let real = try AS4Sealer(pmode: .sdk(), signer: p.receiver).seal(
            SignalMessage(messageId: "e3@x", timestamp: AS4Time.string(Date()), refToMessageId: wire.messageId, content: .errors([error])))
        guard case .errors(let errors) = try await verifier.verify(real.soap, sent: wire) else { return XCTFail("not an error signal") }
        XCTAssertEqual(errors.map(\.code), ["EBMS:0003"])
    }

    /// The receipt signer is the pinned certificate of the access point we sent to, and that
    /// certificate must also still be acceptable: within its validity, chaining to the anchors.
    func testReceiptSignerIsCheckedLikeAnyAS4Certificate() async throws {
        let expired = try p.pki.issue(commonName: "AP-RECEIVER", notBefore: Date().addingTimeInterval(-400 * 86_400), days: 30)
        let stranger = try ThrowawayPKI(commonName: "Other CA").issue(commonName: "AP-RECEIVER")
        for receiver in [expired, stranger] {
            let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(AS4RoundTripTests.sampleUserMessage(), payloads: [payload],
                                                                          recipient: receiver.certificate)
            let receipt = try AS4Sealer(pmode: .sdk(), signer: receiver).seal(
                SignalMessage(messageId: "r@x", timestamp: AS4Time.string(Date()), refToMessageId: wire.messageId,
                              content: .receipt(wire.signedReferences)))
            let verifier = AS4ResponseVerifier(expectedSigner: receiver.certificate, trust: p.pki.trust(.as4))
            await expect("EBMS:0302") { _ = try await verifier.verify(receipt.soap, sent: wire) }
        }
    }
}
