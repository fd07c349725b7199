import Foundation
import NIOCore
import XCTest
import X509
@testable import Transport

/// Delivery that keeps what it receives in memory, and refuses unknown recipients.
actor CollectingDelivery: AS4Delivery {
    var delivered: [(id: String, payload: [UInt8])] = []
    let served: Set<String>

    init(served: Set<String>) { self.served = served }

    func deliver(_ inbound: AS4Opener.Inbound, receipt: [UInt8]) async throws {
        guard let recipient = inbound.userMessage.property("finalRecipient"), served.contains(recipient) else {
            throw EbMSError.notServiced
        }
        delivered.append((inbound.userMessage.messageId, try inbound.payloads["message"]?.bytes() ?? []))
    }

    func count() -> Int { delivered.count }
    func last() -> [UInt8]? { delivered.last?.payload }
}

/// An in-memory duplicate store (the node's is a ledger projection).
actor MemoryDuplicates: DuplicateStore {
    var receipts: [String: [UInt8]] = [:]
    func receipt(for messageId: String) async throws -> [UInt8]? { receipts[messageId] }
    func remember(messageId: String, receipt: [UInt8]) async throws -> Bool {
        if receipts[messageId] != nil { return false }
        receipts[messageId] = receipt
        return true
    }
}

/// Acceptance 1: two Kvitto MSHs over HTTPS with mutual TLS on 127.0.0.1.
final class AS4HTTPSTests: XCTestCase {
    struct Setup {
        let pki: ThrowawayPKI
        let sender: SigningIdentity
        let receiver: SigningIdentity
        let senderTLS: SigningIdentity
        let receiverTLS: SigningIdentity
    }

    static func setup() throws -> Setup {
        let pki = try ThrowawayPKI(commonName: "HTTPS Test CA")
        return Setup(pki: pki, sender: try pki.issue(commonName: "AP-SENDER"), receiver: try pki.issue(commonName: "AP-RECEIVER"),
                     senderTLS: try pki.issue(commonName: "ap-sender.test"),
                     receiverTLS: try pki.issue(commonName: "ap-receiver.test", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]]))
    }

    /// Starts a receiving MSH; returns its port and the task running it.
    static func startServer(_ s: Setup, delivery: any AS4Delivery, duplicates: (any DuplicateStore)?, tls: Bool = true,
                            requireClientCertificate: Bool = true) async throws -> (Int, Task<Void, any Error>) {
        let endpoint = AS4Endpoint(opener: AS4Opener(identity: s.receiver, trust: s.pki.trust(.as4), pmode: .sdk()),
                                   sealer: AS4Sealer(pmode: .sdk(), signer: s.receiver), delivery: delivery, duplicates: duplicates)
        return try await serve(AS4Server(tls: tls ? AS4TLS(identity: s.receiverTLS, trustAnchors: [s.pki.root],
                                                           requireClientCertificate: requireClientCertificate) : nil,
                                         endpoint: endpoint))
    }

    /// Runs `server` in a task; returns the bound port once it listens.
    static func serve(_ server: AS4Server) async throws -> (Int, Task<Void, any Error>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run { port in continuation.yield(port) } }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw MutationError(message: "server did not start") }
        return (port, task)
    }

    func message(_ s: Setup, payload: [UInt8], finalRecipient: String = "0203:b.se") throws -> AS4WireMessage {
        try Self.message(s, payload: payload, finalRecipient: finalRecipient)
    }

    static func message(_ s: Setup, payload: [UInt8], finalRecipient: String = "0203:b.se") throws -> AS4WireMessage {
        var user = AS4RoundTripTests.sampleUserMessage()
        user.properties[1].value = finalRecipient
        return try AS4Sealer(pmode: .sdk(), signer: s.sender).seal(
            user, payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: payload))],
            recipient: s.receiver.certificate)
    }

    func testRoundTripOverMutualTLSFor1KBAnd1MB() async throws {
        let s = try Self.setup()
        let delivery = CollectingDelivery(served: ["0203:b.se"])
        let (port, server) = try await Self.startServer(s, delivery: delivery, duplicates: MemoryDuplicates())
        defer { server.cancel() }
        let client = try AS4HTTPClient(tls: AS4TLS(identity: s.senderTLS, trustAnchors: [s.pki.root]))
        var rng = SystemRandomNumberGenerator()
        for size in [1 << 10, 1 << 20] {
            let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let wire = try message(s, payload: payload)
            let response = try await client.post(wire, to: "https://127.0.0.1:\(port)/as4")
            XCTAssertEqual(response.status, 200)
            let outcome = try await AS4ResponseVerifier(expectedSigner: s.receiver.certificate, trust: nil).verify(response.body, sent: wire)
            guard case .receipt = outcome else { return XCTFail("\(size): \(outcome)") }
            let last = await delivery.last()
            XCTAssertEqual(last, payload, "\(size)")
        }
        try await client.shutdown()
    }

    func testUnknownRecipientDuplicateAndMissingClientCertificate() async throws {
        let s = try Self.setup()
        let delivery = CollectingDelivery(served: ["0203:b.se"])
        let (port, server) = try await Self.startServer(s, delivery: delivery, duplicates: MemoryDuplicates())
        defer { server.cancel() }
        let client = try AS4HTTPClient(tls: AS4TLS(identity: s.senderTLS, trustAnchors: [s.pki.root]))
        let url = "https://127.0.0.1:\(port)/as4"
        // Unknown recipient → EBMS:0004 NOT_SERVICED, nothing delivered.
        let unknown = try message(s, payload: Array("<x/>".utf8), finalRecipient: "0203:nobody.se")
        let r1 = try await AS4ResponseVerifier(expectedSigner: s.receiver.certificate, trust: nil).verify(try await client.post(unknown, to: url).body, sent: unknown)
        XCTAssertEqual(r1, .errors([EbMSError(code: "EBMS:0004", shortDescription: "Other", category: "Content", detail: "NOT_SERVICED",
                                              refToMessageId: unknown.messageId)]))
        let none = await delivery.count()
        XCTAssertEqual(none, 0)
        // The same message twice: delivered once, the same receipt both times.
        let wire = try message(s, payload: Array("<xhe/>".utf8))
        let a = try await client.post(wire, to: url).body
        let b = try await client.post(wire, to: url).body
        XCTAssertEqual(a, b)
        let once = await delivery.count()
        XCTAssertEqual(once, 1)
        try await client.shutdown()
        // A client without a certificate cannot connect (mutual TLS).
        let anonymous = try AS4HTTPClient(tls: nil, connectTimeout: 2)
        do {
            _ = try await anonymous.post(wire, to: url)
            XCTFail("connected without a client certificate")
        } catch {
            XCTAssertEqual(error.code, "EBMS:0005")
        }
        try await anonymous.shutdown()
        // A certificate from another CA is refused too.
        let other = try ThrowawayPKI(commonName: "Other CA").issue(commonName: "intruder")
        let intruder = try AS4HTTPClient(tls: AS4TLS(identity: other, trustAnchors: [s.pki.root]), connectTimeout: 2)
        do {
            _ = try await intruder.post(wire, to: url)
            XCTFail("connected with a foreign client certificate")
        } catch {
            XCTAssertEqual(error.code, "EBMS:0005")
        }
        try await intruder.shutdown()
    }
}
