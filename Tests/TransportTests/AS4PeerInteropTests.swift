import Foundation
import XCTest
import X509
@testable import Transport

/// Acceptance 2 at the message level: Kvitto and an SDK access point built on the PyPI `as4`
/// package (Tests/interop/as4peer, run with the project's .venv) exchange a signed, compressed and
/// encrypted message and a signed receipt, in both directions. The requests and answers travel
/// through files here; the HTTP variant runs in the server tests.
final class AS4PeerInteropTests: XCTestCase {
    static let python = Corpus.projectRoot.appendingPathComponent(".venv/bin/python").path
    static let peer = Corpus.projectRoot.appendingPathComponent("Tests/interop/as4peer/peer.py").path

    struct Setup {
        let pki: ThrowawayPKI
        let kvitto: SigningIdentity
        let python: SigningIdentity
        let dir: URL
    }

    static func setup() throws -> Setup {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.python), "run Tests/bootstrap.sh first (.venv with as4)")
        let pki = try ThrowawayPKI(commonName: "Interop AS4 CA")
        let kvitto = try pki.issue(commonName: "AP-KVITTO")
        let python = try pki.issue(commonName: "AP-PYTHON")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-as4peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return Setup(pki: pki, kvitto: kvitto, python: python, dir: dir)
    }

    /// Writes `sender_*` and `receiver_*` PEM files for the peer.
    static func writeKeys(_ s: Setup, sender: SigningIdentity, receiver: SigningIdentity, senderKey: Bool, receiverKey: Bool) throws -> String {
        let keys = s.dir.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: keys.appendingPathComponent(name)) }
        try write("sender_cert.pem", CertificateFile.pem(sender.certificate))
        try write("receiver_cert.pem", CertificateFile.pem(receiver.certificate))
        if senderKey { try write("sender_key.pem", sender.privateKey.pemRepresentation) }
        if receiverKey { try write("receiver_key.pem", receiver.privateKey.pemRepresentation) }
        return keys.path
    }

    static func userMessage(from: String, to: String) -> UserMessage {
        UserMessage(messageId: UUID().uuidString.lowercased() + "@kvitto", timestamp: AS4Time.string(Date()),
                    from: .init(id: from, type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
                    to: .init(id: to, type: SDKAS4.partyType, role: SDKAS4.responderRole),
                    service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: SDKAS4.messageAction,
                    conversationId: "7bc5576a-3f87-4cf5-a0c5-277da06fcacb",
                    properties: [.init(name: "originalSender", type: "iso6523-actorid-upis", value: "0203:a.se"),
                                 .init(name: "finalRecipient", type: "iso6523-actorid-upis", value: "0203:b.se")],
                    parts: [])
    }

    func testKvittoSendsAndAs4Receives() async throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let keys = try Self.writeKeys(s, sender: s.kvitto, receiver: s.python, senderKey: false, receiverKey: true)
        let xhe = try Corpus.bytes("message-v3/examples/xhe_unencrypted_payload.xml")
        let wire = try AS4Sealer(pmode: .sdk(), signer: s.kvitto).seal(
            Self.userMessage(from: "AP-KVITTO", to: "AP-PYTHON"),
            payloads: [AS4Payload(contentID: "message", mimeType: "application/xml", content: Spool(bytes: xhe))],
            recipient: s.python.certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        let headers = ["Content-Type": contentType, "MIME-Version": "1.0"]
        try JSONSerialization.data(withJSONObject: headers).write(to: s.dir.appendingPathComponent("request.headers"))
        try Data(body).write(to: s.dir.appendingPathComponent("request.body"))
        let r = try runTool(Self.python, [Self.peer, "receive", "--request-headers", s.dir.appendingPathComponent("request.headers").path,
                                          "--request-body", s.dir.appendingPathComponent("request.body").path, "--keys", keys,
                                          "--signal-out", s.dir.appendingPathComponent("signal.xml").path,
                                          "--payload-out", s.dir.appendingPathComponent("payload.xml").path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(Array(try Data(contentsOf: s.dir.appendingPathComponent("payload.xml"))), xhe)
        let signal = Array(try Data(contentsOf: s.dir.appendingPathComponent("signal.xml")))
        let outcome = try await AS4ResponseVerifier(expectedSigner: s.python.certificate, trust: nil).verify(signal, sent: wire)
        guard case .receipt(let receipt) = outcome else { return XCTFail("expected a receipt, got \(outcome)") }
        XCTAssertEqual(receipt.refToMessageId, wire.messageId)
    }

    func testAs4SendsAndKvittoReceives() async throws {
        let s = try Self.setup()
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let keys = try Self.writeKeys(s, sender: s.python, receiver: s.kvitto, senderKey: true, receiverKey: false)
        let xhe = try Corpus.bytes("xhe/examples/XHE-tm-base.xml")
        try Data(xhe).write(to: s.dir.appendingPathComponent("payload.xml"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.peer, "send", "--payload", s.dir.appendingPathComponent("payload.xml").path, "--keys", keys,
                             "--request-dir", s.dir.path, "--timeout", "60"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Wait (bounded) for the request.
        let headersURL = s.dir.appendingPathComponent("request.headers")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: headersURL.path) {
            guard Date() < deadline, process.isRunning else {
                return XCTFail("the peer wrote no request: " + String(decoding: out.fileHandleForReading.availableData, as: UTF8.self))
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let headers = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: headersURL)) as? [String: String])
        let contentType = try XCTUnwrap(ContentType(try XCTUnwrap(headers.first { $0.key.lowercased() == "content-type" }?.value)))
        XCTAssertEqual(contentType.mediaType, "multipart/related")
        let body = Array(try Data(contentsOf: s.dir.appendingPathComponent("request.body")))
        let parser = MIMEMultipartParser(boundary: try XCTUnwrap(contentType.parameters["boundary"]))
        try body.withUnsafeBytes { try parser.feed($0) }
        let (soap, attachments) = try AS4Opener.soapPart(try parser.finish(), contentType: contentType)
        let opener = AS4Opener(identity: s.kvitto, trust: s.pki.trust(.as4), pmode: .sdk())
        let inbound = try await opener.open(soap: try soap.body.bytes(), attachments: attachments)
        XCTAssertEqual(try inbound.payloads["message"]?.bytes(), xhe)
        XCTAssertEqual(inbound.signer, s.python.certificate)
        let receipt = SignalMessage(messageId: UUID().uuidString.lowercased() + "@kvitto", timestamp: AS4Time.string(Date()),
                                    refToMessageId: inbound.userMessage.messageId, content: .receipt(inbound.signedReferences))
        let wire = try AS4Sealer(pmode: .sdk(), signer: s.kvitto).seal(receipt)
        var response: [UInt8] = []
        let responseType = try wire.httpBody { response.append(contentsOf: $0) }
        XCTAssertTrue(responseType.hasPrefix("application/soap+xml"))
        try Data(response).write(to: s.dir.appendingPathComponent("response.body.tmp"))
        try FileManager.default.moveItem(at: s.dir.appendingPathComponent("response.body.tmp"),
                                         to: s.dir.appendingPathComponent("response.body"))
        process.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("state: ACKNOWLEDGED"), text)
    }
}
