import Foundation
import NIOCore
import X509
import XCTest
@testable import Transport

/// What a hostile network peer could get past the WS-Security checks, the receipt check and the
/// request reader: expired or unsigned timestamps, encryption headers that list nothing, error
/// signals nobody signed, receipts from certificates that are no longer acceptable, and bodies
/// that are buffered before their limit applies.
final class WSSecurityHardeningTests: XCTestCase {
    let p = AS4RoundTripTests.peers
    var payload: AS4Payload { AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<XHE/>".utf8))) }

    var opener: AS4Opener { AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()) }

    /// `mutate` edits the body as text (binary attachments do not survive that: only for checks
    /// that refuse before decryption).
    func open(_ wire: AS4WireMessage, at now: Date = Date(), mutate: ((inout String) -> Void)? = nil) async throws -> AS4Opener.Inbound {
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        if let mutate {
            var text = String(decoding: body, as: UTF8.self)
            mutate(&text)
            body = Array(text.utf8)
        }
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
            _ = try await self.open(wire) { text in
                guard let start = text.range(of: "<xenc:ReferenceList>"), let end = text.range(of: "</xenc:ReferenceList>") else {
                    return XCTFail("no ReferenceList in \(text.prefix(3000))")
                }
                text.removeSubrange(start.lowerBound..<end.upperBound)
            }
        }
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

/// The request reader: limits apply while the body streams, and requests beyond the bounds are
/// answered at once.
final class AS4EndpointLimitsTests: XCTestCase {
    let p = AS4RoundTripTests.peers

    struct Store: AS4Delivery {
        func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws {}
    }

    func endpoint(admission: AdmissionControl = AdmissionControl()) -> AS4Endpoint {
        AS4Endpoint(opener: AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()),
                    sealer: AS4Sealer(pmode: .sdk(), signer: p.receiver), delivery: Store(), duplicates: nil, admission: admission)
    }

    /// A body that counts what was read from it.
    final class CountingBody: AsyncSequence, @unchecked Sendable {
        // @unchecked: read by one request task at a time, then inspected after it finished.
        typealias Element = ByteBuffer
        let chunk: ByteBuffer
        let chunks: Int
        var pulled = 0
        init(chunkBytes: Int, chunks: Int, first: String = "<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\">") {
            var b = ByteBuffer(string: first)
            b.writeRepeatingByte(UInt8(ascii: " "), count: chunkBytes - first.utf8.count)
            chunk = b
            self.chunks = chunks
        }
        struct AsyncIterator: AsyncIteratorProtocol {
            let body: CountingBody
            mutating func next() async throws -> ByteBuffer? {
                guard body.pulled < body.chunks else { return nil }
                body.pulled += 1
                return body.chunk
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
    }

    func testBareSOAPBodyIsRefusedWhileStreaming() async throws {
        let body = CountingBody(chunkBytes: 64 << 10, chunks: 3200)  // 200 MiB
        let reply = await endpoint().handle(contentType: "application/soap+xml", body: body)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains(PeerText.envelopeTooLarge), String(decoding: reply.body, as: UTF8.self))
        XCTAssertLessThanOrEqual(body.pulled * (64 << 10), (1 << 20) + (64 << 10), "read \(body.pulled) chunks before refusing")
    }

    func testRequestsBeyondTheBoundsAreAnsweredAtOnce() async throws {
        let admission = AdmissionControl(maxRequests: 2, maxRequestsPerPeer: 1)
        let e = endpoint(admission: admission)
        // A request whose body never ends holds its slot.
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let holder = Task { await e.handle(contentType: "application/soap+xml", body: stream, peer: "192.0.2.1") }
        var waited = 0
        while admission.inProgress == 0, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        XCTAssertEqual(admission.inProgress, 1)
        let samePeer = await e.handle(contentType: "application/soap+xml", body: AsyncStream<ByteBuffer> { $0.finish() }, peer: "192.0.2.1")
        XCTAssertEqual(samePeer.status, 429)
        XCTAssertEqual(String(decoding: samePeer.body, as: UTF8.self), PeerText.tooManyRequests)
        // Another peer still gets an answer (an ebMS error for an empty body).
        let other = await e.handle(contentType: "application/soap+xml", body: AsyncStream<ByteBuffer> { $0.finish() }, peer: "192.0.2.2")
        XCTAssertEqual(other.status, 200)
        // With the node full, everyone gets 503 with the fixed text.
        let (stream2, continuation2) = AsyncStream.makeStream(of: ByteBuffer.self)
        let holder2 = Task { await e.handle(contentType: "application/soap+xml", body: stream2, peer: "192.0.2.3") }
        waited = 0
        while admission.inProgress < 2, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        let full = await e.handle(contentType: "application/soap+xml", body: AsyncStream<ByteBuffer> { $0.finish() }, peer: "192.0.2.4")
        XCTAssertEqual(full.status, 503)
        XCTAssertEqual(String(decoding: full.body, as: UTF8.self), PeerText.unavailable)
        continuation.finish()
        continuation2.finish()
        _ = await holder.value
        _ = await holder2.value
        XCTAssertEqual(admission.inProgress, 0)
    }

    /// A failure inside the access point reaches the peer as a fixed text, never its description.
    func testInternalFailuresReachPeersAsFixedTexts() async throws {
        struct Failing: AS4Delivery {
            struct Secret: Error, CustomStringConvertible { var description: String { "disk /var/lib/kvitto/ledger is full" } }
            func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws { throw AS4TemporarilyUnavailable("/var/lib/kvitto secret") }
        }
        let e = AS4Endpoint(opener: AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()),
                            sealer: AS4Sealer(pmode: .sdk(), signer: p.receiver), delivery: Failing(), duplicates: nil)
        let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(
            AS4RoundTripTests.sampleUserMessage(),
            payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: Array("<XHE/>".utf8)))],
            recipient: p.receiver.certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        let reply = await e.handle(contentType: contentType, body: AsyncStream<ByteBuffer> { $0.yield(ByteBuffer(bytes: body)); $0.finish() })
        XCTAssertEqual(reply.status, 503)
        XCTAssertEqual(String(decoding: reply.body, as: UTF8.self), PeerText.unavailable)
    }
}
