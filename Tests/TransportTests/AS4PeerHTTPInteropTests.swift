import Foundation
import XCTest
import X509
@testable import Transport

/// Acceptance 2 over HTTP on 127.0.0.1: (a) Kvitto posts to a receiver built on the PyPI `as4`
/// package, which verifies, decrypts and answers with its signed receipt, which Kvitto verifies;
/// (b) a sender built on `as4` posts to Kvitto's endpoint, which answers with a receipt `as4`
/// verifies.
final class AS4PeerHTTPInteropTests: XCTestCase {
    func testKvittoPostsToAs4Receiver() async throws {
        let t = AS4PeerInteropTests.self
        let s = try t.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let keys = try t.writeKeys(s, sender: s.kvitto, receiver: s.python, senderKey: false, receiverKey: true)
        let payloads = s.dir.appendingPathComponent("payloads")
        try FileManager.default.createDirectory(at: payloads, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AS4PeerInteropTests.python)
        let portFile = s.dir.appendingPathComponent("port").path
        process.arguments = [AS4PeerInteropTests.peer, "serve", "--keys", keys, "--port", "0", "--payload-dir", payloads.path,
                             "--port-file", portFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let port = try await Self.waitForPort(file: portFile, process: process)

        let xhe = try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")
        let wire = try AS4Sealer(pmode: .sdk(), signer: s.kvitto).seal(
            t.userMessage(from: "AP-KVITTO", to: "AP-PYTHON"),
            payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: xhe))],
            recipient: s.python.certificate)
        let client = try AS4HTTPClient(tls: nil)
        let response = try await client.post(wire, to: "http://127.0.0.1:\(port)/as4")
        try await client.shutdown()
        XCTAssertEqual(response.status, 200)
        let outcome = try await AS4ResponseVerifier(expectedSigner: s.python.certificate, trust: nil).verify(response.body, sent: wire)
        guard case .receipt = outcome else { return XCTFail("expected a receipt: \(outcome)") }
        let stored = try FileManager.default.contentsOfDirectory(atPath: payloads.path)
        XCTAssertEqual(stored.count, 1)
        XCTAssertEqual(Array(try Data(contentsOf: payloads.appendingPathComponent(stored[0]))), xhe)
    }

    func testAs4PostsToKvittoEndpoint() async throws {
        let t = AS4PeerInteropTests.self
        let s = try t.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let keys = try t.writeKeys(s, sender: s.python, receiver: s.kvitto, senderKey: true, receiverKey: false)
        let delivery = CollectingDelivery(served: ["0203:receiver.example.se"])
        let endpoint = AS4Endpoint(opener: AS4Opener(identity: s.kvitto, trust: s.pki.trust(.as4), pmode: .sdk()),
                                   sealer: AS4Sealer(pmode: .sdk(), signer: s.kvitto), delivery: delivery, duplicates: MemoryDuplicates())
        let (port, server) = try await AS4HTTPSTests.serve(AS4Server(tls: nil, endpoint: endpoint))
        defer { server.cancel() }
        let xhe = try Corpus.bytes("xhe/examples/XHE-tm-base.xml")
        try Data(xhe).write(to: s.dir.appendingPathComponent("payload.xml"))
        let r = try await runToolAsync(AS4PeerInteropTests.python, [AS4PeerInteropTests.peer, "post", "--payload",
                                                          s.dir.appendingPathComponent("payload.xml").path, "--keys", keys,
                                                          "--url", "http://127.0.0.1:\(port)/as4"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("state: ACKNOWLEDGED"), r.output)
        let delivered = await delivery.last()
        XCTAssertEqual(delivered, xhe)
        // An unknown final recipient: as4 receives EBMS:0004 NOT_SERVICED.
        let refused = try await runToolAsync(AS4PeerInteropTests.python, [AS4PeerInteropTests.peer, "post", "--payload",
                                                                s.dir.appendingPathComponent("payload.xml").path, "--keys", keys,
                                                                "--url", "http://127.0.0.1:\(port)/as4", "--final-recipient", "0203:nobody.se"])
        XCTAssertTrue(refused.output.contains("state: REJECTED"), refused.output)
        XCTAssertTrue(refused.output.contains("EBMS:0004 NOT_SERVICED"), refused.output)
    }

    /// With the SDK envelope checks on, the AS4 header must agree with the XHE: as4's sender uses a
    /// finalRecipient that is not the XHE ToParty, so it gets EBMS:0003; with matching values and
    /// the XHE ID as ConversationId, Kvitto accepts.
    func testSDKEnvelopeChecksAtTheEndpoint() async throws {
        let t = AS4PeerInteropTests.self
        let s = try t.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let keys = try t.writeKeys(s, sender: s.python, receiver: s.kvitto, senderKey: true, receiverKey: false)
        let delivery = CollectingDelivery(served: ["0203:receiver.example.se", "0203:testa.testbed.inera.se"])
        let endpoint = AS4Endpoint(opener: AS4Opener(identity: s.kvitto, trust: s.pki.trust(.as4), pmode: .sdk()),
                                   sealer: AS4Sealer(pmode: .sdk(), signer: s.kvitto), delivery: delivery, duplicates: nil,
                                   checkSDKEnvelope: true)
        let (port, server) = try await AS4HTTPSTests.serve(AS4Server(tls: nil, endpoint: endpoint))
        defer { server.cancel() }
        let xhe = try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")
        try Data(xhe).write(to: s.dir.appendingPathComponent("payload.xml"))
        let r = try await runToolAsync(AS4PeerInteropTests.python, [AS4PeerInteropTests.peer, "post", "--payload",
                                                                    s.dir.appendingPathComponent("payload.xml").path, "--keys", keys,
                                                                    "--url", "http://127.0.0.1:\(port)/as4"])
        XCTAssertTrue(r.output.contains("state: REJECTED") && r.output.contains("EBMS:0003"), r.output)
        let none = await delivery.count()
        XCTAssertEqual(none, 0)
        // Kvitto → Kvitto with consistent values is accepted.
        let envelope = try XHEEnvelope(document: try XMLDocument(bytes: xhe))
        var user = t.userMessage(from: "AP-PYTHON", to: "AP-KVITTO")
        user.conversationId = envelope.id
        user.properties = [.init(name: "originalSender", type: "iso6523-actorid-upis", value: envelope.fromParty),
                           .init(name: "finalRecipient", type: "iso6523-actorid-upis", value: envelope.toParty)]
        let wire = try AS4Sealer(pmode: .sdk(), signer: s.python).seal(
            user, payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: xhe))],
            recipient: s.kvitto.certificate)
        let client = try AS4HTTPClient(tls: nil)
        let response = try await client.post(wire, to: "http://127.0.0.1:\(port)/as4")
        try await client.shutdown()
        guard case .receipt = try await AS4ResponseVerifier(expectedSigner: s.kvitto.certificate, trust: nil).verify(response.body, sent: wire) else {
            return XCTFail("not accepted")
        }
        let one = await delivery.count()
        XCTAssertEqual(one, 1)
    }

    /// Waits (bounded, without blocking a thread) for the peer to write its port.
    static func waitForPort(file: String, process: Process) async throws -> Int {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(text) { return port }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw MutationError(message: "the as4 peer did not start listening")
    }
}
