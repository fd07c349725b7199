import Foundation
import NIOCore
import XCTest
@testable import Transport

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

    /// A compressed payload that decompresses beyond what an XHE can be (a gzip bomb) is refused
    /// from its spool, before anything loads it into memory.
    func testOversizedXHEIsRefusedFromItsSpool() async throws {
        var e = endpoint()
        e.checkSDKEnvelope = true
        let zeros = Spool()
        let chunk = [UInt8](repeating: 0x20, count: 1 << 20)
        for _ in 0..<60 { try chunk.withUnsafeBytes { try zeros.append($0) } }
        zeros.finish()
        let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(
            AS4RoundTripTests.sampleUserMessage(), payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: zeros)],
            recipient: p.receiver.certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        XCTAssertLessThan(body.count, 2 << 20, "the bomb is small on the wire")
        let reply = await e.handle(contentType: contentType, body: AsyncStream<ByteBuffer> { $0.yield(ByteBuffer(bytes: body)); $0.finish() })
        XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains(PeerText.tooLarge), String(decoding: reply.body, as: UTF8.self))
    }

    /// The processing budget is charged for what is parsed, the decompressed payload, not for
    /// the gzip body on the wire: 20 MiB of text that travels as a few KiB holds 20 units while
    /// it is delivered.
    func testTheBudgetIsChargedForTheDecompressedPayload() async throws {
        final class Recording: AS4Delivery, @unchecked Sendable {
            // @unchecked: written by the one request's task, read after it finished.
            let limiter: AsyncLimiter
            var heldDuringDelivery = -1
            init(_ limiter: AsyncLimiter) { self.limiter = limiter }
            func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws { heldDuringDelivery = limiter.held }
        }
        let budget = AsyncLimiter(48)
        let recording = Recording(budget)
        let e = AS4Endpoint(opener: AS4Opener(identity: p.receiver, trust: p.pki.trust(.as4), pmode: .sdk()),
                            sealer: AS4Sealer(pmode: .sdk(), signer: p.receiver), delivery: recording, duplicates: nil,
                            processing: budget)
        let text = Spool()
        let chunk = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
        for _ in 0..<20 { try chunk.withUnsafeBytes { try text.append($0) } }
        text.finish()
        let wire = try AS4Sealer(pmode: .sdk(), signer: p.sender).seal(
            AS4RoundTripTests.sampleUserMessage(), payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: text)],
            recipient: p.receiver.certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        XCTAssertLessThan(body.count, 1 << 20, "the payload is small on the wire")
        _ = await e.handle(contentType: contentType, body: AsyncStream<ByteBuffer> { $0.yield(ByteBuffer(bytes: body)); $0.finish() })
        XCTAssertGreaterThanOrEqual(recording.heldDuringDelivery, 20, "charged for the wire size only")
        XCTAssertEqual(budget.held, 0, "units left held after the request")
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
