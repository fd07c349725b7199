import Foundation
import Ledger
import Node
import Projections
import Transport
import X509
import XCTest

/// Interop end to end with an access point we did not write (the PyPI `as4` package): it sends
/// Kvitto a message with a valid SDK XHE, which is recorded and answered with a
/// Meddelandekvittens; and it receives Kvitto's message, which Kvitto records as delivered.
final class NodeInteropTests: XCTestCase {
    /// The remote organisation behind the `as4` access point.
    static let remote = FunctionalAddress(participant: "0203:sender.example.se", function: "kansli")
    static let local = FunctionalAddress(participant: "0203:k.example.se", function: "registrator")

    struct Setup {
        let base: String
        let node: String
        let peerAP: SigningIdentity
        let peerO2O: SigningIdentity
        /// The CA that issued the peer's certificates, when the test made it (nil: the openssl CLI did).
        let pki: ThrowawayPKI?
        let server: PythonPeer.Server
    }

    /// A Kvitto node (plain HTTP: the peer posts without TLS), a certificate pair for the remote
    /// organisation from the node's CA, the `as4` receiver running, and a route to it.
    func setup(_ label: String) async throws -> Setup {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: PythonPeer.python), "run Tests/bootstrap.sh first (.venv with as4)")
        let base = try NodeFixture.scratch(label)
        var options = NodeSetup.Options(name: "kvitto", participants: [.init(id: Self.local.participant, name: "Myndighet K",
                                                                              functions: [(Self.local.function, "Registraturen")])])
        options.tls = false
        options.port = try await DemoNetwork.freePorts(1)[0]
        options.receptionAwareness = .init(retries: 3, intervalSeconds: 1, strategy: "CONSTANT")
        let node = base + "/node"
        let config = try await NodeSetup.initialize(directory: node, options: options)
        let pki = try NodeSetup.loadCA(node)
        let peerAP = try pki.issue(commonName: "AP-PYTHON")
        let peerO2O = try pki.issue(commonName: Self.remote.participant, organization: "Myndighet S")
        let ourAS4 = try XCTUnwrap(try CertificateFile.read(path: node + "/" + config.as4.certificate).first)
        // The peer's receiver: pins our AS4 certificate as the sender.
        try PythonPeer.keys(base + "/peer-in", sender: ourAS4, senderKey: nil, receiver: peerAP.certificate, receiverKey: peerAP)
        let server = try PythonPeer.Server(keys: base + "/peer-in", payloadDir: base + "/peer-payloads", log: base + "/peer.log")
        // Our route to the remote organisation, and its functional address in the address book.
        try CertificateFile.pem(peerAP.certificate).write(toFile: node + "/routes/peer.as4.crt", atomically: true, encoding: .utf8)
        try CertificateFile.pem(peerO2O.certificate).write(toFile: node + "/routes/peer.o2o.crt", atomically: true, encoding: .utf8)
        var c = try NodeConfig.load(directory: node)
        c.routes = try JSONDecoder.snake.decode([NodeConfig.Route].self, from: Data("""
            [{"participant": "\(Self.remote.participant)", "endpoint": "http://127.0.0.1:\(server.port)/as4",
              "as4_certificate": "routes/peer.as4.crt", "o2o_certificate": "routes/peer.o2o.crt"}]
            """.utf8))
        try c.save(directory: node)
        var ledgerOptions = LedgerOptions()
        ledgerOptions.create = false
        let ledger = try Ledger.open(at: node + "/ledger")
        _ = try await ledger.append(NodeSetup.addressBookDrafts(participant: Self.remote.participant, name: "Myndighet S",
                                                                functions: [(Self.remote.function, "Kansliet")], actor: "test"))
        ledger.close()
        return Setup(base: base, node: node, peerAP: peerAP, peerO2O: peerO2O, pki: pki, server: server)
    }

    /// Writes `<base>/xhe.xml`: an SDK message from the remote organisation to ours, sealed
    /// (tm-base-ext-sigenc) with `signer`'s O2O identity; and the peer's sending keys.
    static func prepareRemoteXHE(_ s: Setup, id: String, label: String, files: [SDKMessage.File] = [], text: String,
                          signer: SigningIdentity) throws {
        let now = SDKMessage.timestamp(Date())
        let message = SDKMessage(
            header: .init(creationDateTime: now, messageId: id, conversationId: id, label: label, confidentiality: false,
                          recipient: .init(id: .participant(Self.local.participant), attention: .init(subOrganization: .init(id: .functionalAddress(Self.local.function)))),
                          sender: .init(id: .participant(Self.remote.participant), attention: .init(subOrganization: .init(id: .functionalAddress(Self.remote.function))))),
            documents: [.init(documentID: "1", files: files, texts: [text])])
        let ourO2O = try XCTUnwrap(try CertificateFile.read(path: s.node + "/pki/o2o-0203-k-example-se.crt").first)
        let xhe = try XHESecurity.seal(
            XHEEnvelope(id: id, creationDateTime: now, businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .signedAndEncrypted),
                        fromParty: Self.remote.participant, toParty: Self.local.participant,
                        payload: .init(documentTypeCode: XHEEnvelope.DocumentType.sdkMessage.documentTypeCode, handlingServiceID: Self.local.function,
                                       content: .xml(message.xml(declaration: false)))),
            model: .signedAndEncrypted, signer: signer, recipient: ourO2O)
        try Data(xhe).write(to: URL(fileURLWithPath: s.base + "/xhe.xml"))
        let ourAS4 = try XCTUnwrap(try CertificateFile.read(path: s.node + "/pki/as4.crt").first)
        try PythonPeer.keys(s.base + "/peer-out", sender: s.peerAP.certificate, senderKey: s.peerAP, receiver: ourAS4, receiverKey: nil)
    }

    /// `peer.py post` of `<base>/xhe.xml` to the node on `port`.
    static func postRemoteXHE(_ s: Setup, id: String, port: Int) async throws -> (status: Int32, output: String) {
        try await PythonPeer.post(["--payload", s.base + "/xhe.xml", "--keys", s.base + "/peer-out",
                                   "--url", "http://127.0.0.1:\(port)/as4", "--final-recipient", Self.local.participant,
                                   "--original-sender", Self.remote.participant, "--conversation-id", id])
    }

    func testAs4SenderGetsItsMessageRecordedAndAnsweredWithAMeddelandekvittens() async throws {
        let s = try await setup("interop-in")
        defer { s.server.stop(); try? FileManager.default.removeItem(atPath: s.base) }
        let node = try NodeFixture.open(s.node)
        // The remote message service's XHE: an SDK message signed and encrypted organisation to organisation.
        let id = UUID().uuidString.lowercased()
        try Self.prepareRemoteXHE(s, id: id, label: "Från as4-paketet",
                             files: [.init(fileName: "a.txt", contentType: "text/plain", content: Array("interop".utf8))],
                             text: "Hej från en annan accesspunkt.", signer: s.peerO2O)
        try await DemoNetwork.running([node]) { ports in
            let r = try await Self.postRemoteXHE(s, id: id, port: ports[0])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("state: ACKNOWLEDGED"), r.output)
            // Recorded, validated, answered; the peer acknowledges the Meddelandekvittens.
            let done = try await DemoNetwork.wait(timeout: 60) {
                let st = try node.snapshot()
                return st.messages[id]?.receiptDispatch.flatMap { st.dispatches[$0] }?.outcome == .delivered
            }
            XCTAssertTrue(done, "the Meddelandekvittens was not acknowledged by the peer: \(s.server.output)")
        }
        let record = try XCTUnwrap(try node.view(participant: Self.local.participant).message(id))
        XCTAssertEqual(record.status, .accepted)
        XCTAssertEqual(record.from, Self.remote)
        XCTAssertEqual(try NodeFixture.events(node, "message.received", message: id).first?.payload["from_party"]?.stringValue, "AP-PYTHON")
        XCTAssertEqual(try NodeFixture.events(node, "transport.receipt.sent", message: id).count, 1)
        // What the peer received is our signed and encrypted Meddelandekvittens: ACCEPTED, for this XHE.
        let files = try FileManager.default.contentsOfDirectory(atPath: s.base + "/peer-payloads")
        XCTAssertEqual(files.count, 1, "\(files)")
        let receivedXHE = Array(try Data(contentsOf: URL(fileURLWithPath: s.base + "/peer-payloads/" + files[0])))
        let opened = try await XHESecurity.open(receivedXHE, verifier: XMLSignatureVerifier(trust: try XCTUnwrap(s.pki).trust(.o2o)),
                                                decryptionIdentity: s.peerO2O, at: Date())
        let receipt = try MessageReceipt(element: try XMLDocument(bytes: try XCTUnwrap(opened.payload)).root)
        XCTAssertEqual(receipt.status, .accepted)
        XCTAssertEqual(receipt.documentReference, id)
        XCTAssertEqual(receipt.receiver, Self.remote.participant)
        await node.close()
        try NodeFixture.verify(s.node)
    }

    func testXHESignedByAnotherOrganizationIsRejectedWithSIG() async throws {
        let s = try await setup("interop-impostor")
        defer { s.server.stop(); try? FileManager.default.removeItem(atPath: s.base) }
        let node = try NodeFixture.open(s.node)
        // A federation member with a valid O2O certificate claims to be the remote organisation.
        let impostor = try XCTUnwrap(s.pki).issue(commonName: "0203:impostor.example.se", organization: "Impostor")
        let id = UUID().uuidString.lowercased()
        try Self.prepareRemoteXHE(s, id: id, label: "Falsk avsändare", text: "Hej.", signer: impostor)
        try await DemoNetwork.running([node]) { ports in
            let r = try await Self.postRemoteXHE(s, id: id, port: ports[0])
            XCTAssertEqual(r.status, 0, r.output)
            let done = try await DemoNetwork.wait(timeout: 60) { try node.snapshot().messages[id]?.status == .rejected }
            XCTAssertTrue(done)
        }
        let record = try XCTUnwrap(try node.snapshot().messages[id])
        XCTAssertEqual(record.verdict?.lines.map(\.code), ["SIG"])
        XCTAssertTrue(record.verdict?.lines.first?.reason.contains("not by its FromParty") == true, "\(String(describing: record.verdict))")
        XCTAssertNil(record.sdkMessage, "content of a rejected message is not kept")
        await node.close()
    }

    func testKvittoMessageToAs4ReceiverIsRecordedAsDelivered() async throws {
        let s = try await setup("interop-out")
        defer { s.server.stop(); try? FileManager.default.removeItem(atPath: s.base) }
        let node = try NodeFixture.open(s.node)
        let id = try await DemoNetwork.running([node]) { _ in
            let id = try await node.submit(NodeFixture.message("Till as4-paketet", from: Self.local, to: Self.remote), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) { try node.snapshot().messages[id]?.status == .delivered }
            XCTAssertTrue(done, "not delivered: \(s.server.output)")
            return id
        }
        XCTAssertTrue(s.server.output.contains("accepted"), s.server.output)
        let receipt = try XCTUnwrap(try NodeFixture.events(node, "transport.receipt.received", message: id).first)
        XCTAssertNotNil(receipt.payload["receipt"]?["sha256"]?.stringValue)
        // The peer decrypted and decompressed exactly the XHE we sent.
        let files = try FileManager.default.contentsOfDirectory(atPath: s.base + "/peer-payloads")
        XCTAssertEqual(files.count, 1)
        let record = try XCTUnwrap(try node.snapshot().messages[id])
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: s.base + "/peer-payloads/" + files[0]))),
                       try node.ledger.blobs.read(try XCTUnwrap(record.xhe).sha256))
        await node.close()
        try NodeFixture.verify(s.node)
    }
}

extension JSONDecoder {
    static var snake: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
