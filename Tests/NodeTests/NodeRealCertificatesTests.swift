import Foundation
import Ledger
import Node
import Projections
import Transport
import X509
import XCTest

/// A node set up the way an operator joining a federation would: certificates from a CA that is
/// not Kvitto's (made with the `openssl` command line, `Tests/interop/federation/make-ca.sh`),
/// imported from PKCS#12 files by `init`'s real-certificate mode, a route to a foreign access
/// point added with `route add` — no file edited by hand — and then messages both ways with the
/// PyPI `as4` access point.
final class NodeRealCertificatesTests: XCTestCase {
    static let local = NodeInteropTests.local
    static let remote = NodeInteropTests.remote
    static let script = NodeFixture.projectRoot.appendingPathComponent("Tests/interop/federation/make-ca.sh").path

    func testNodeWithAFederationsCertificatesExchangesMessagesWithTheAs4Peer() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: PythonPeer.python), "run Tests/bootstrap.sh first (.venv with as4)")
        let base = try NodeFixture.scratch("real-certificates")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let ca = base + "/federation"
        let made = try PythonPeer.run("/bin/sh", [Self.script, ca])
        XCTAssertEqual(made.status, 0, made.output)
        let peerAP = try SigningIdentity(keyPath: ca + "/peer-as4.key", certificatePath: ca + "/peer-as4.crt")
        let peerO2O = try SigningIdentity(keyPath: ca + "/peer-o2o.key", certificatePath: ca + "/peer-o2o.crt")
        let ourAS4 = try XCTUnwrap(try CertificateFile.read(path: ca + "/as4.crt").first)
        try PythonPeer.keys(base + "/peer-in", sender: ourAS4, senderKey: nil, receiver: peerAP.certificate, receiverKey: peerAP)
        let server = try PythonPeer.Server(keys: base + "/peer-in", payloadDir: base + "/peer-payloads", log: base + "/peer.log")
        defer { server.stop() }

        // kvitto init --as4-p12 … --o2o-p12 … --trust-as4 … --trust-o2o … (plain HTTP: the peer posts without TLS)
        var options = NodeSetup.Options(name: "real", participants: [.init(id: Self.local.participant, name: "Myndighet K",
                                                                           functions: [(Self.local.function, "Registraturen")])])
        options.tls = false
        options.port = try await DemoNetwork.freePorts(1)[0]
        options.receptionAwareness = .init(retries: 3, intervalSeconds: 1, strategy: "CONSTANT")
        var credentials = NodeCredentials(as4: ca + "/as4.p12")
        credentials.o2o = [Self.local.participant: ca + "/o2o.p12"]
        credentials.password = try NodeCredentials.password(file: ca + "/password")
        credentials.trustAS4 = [ca + "/ca.crt"]
        credentials.trustO2O = [ca + "/ca.crt"]
        credentials.trustTLS = [ca + "/ca.crt"]
        options.credentials = credentials
        let node = base + "/node"
        let config = try await NodeSetup.initialize(directory: node, options: options)
        XCTAssertEqual(config.as4.partyId, "ap-real-test", "the party id is the CN of the AS4 certificate")
        XCTAssertEqual(config.throwawayPki, false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: node + "/pki/ca.key"), "no CA key on the node")
        let keyMode = try FileManager.default.attributesOfItem(atPath: node + "/pki/as4.key")[.posixPermissions] as? Int
        XCTAssertEqual(keyMode, 0o600)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: node + "/pki")[.posixPermissions] as? Int, 0o700)
        // kvitto route add --participant … --endpoint … --as4-certificate … --o2o-certificate …
        var route = RouteSpec(participant: Self.remote.participant, name: "Myndighet S", functions: [(Self.remote.function, "Kansliet")],
                              endpoint: "http://127.0.0.1:\(server.port)/as4", as4Certificate: ca + "/peer-as4.crt",
                              o2oCertificate: ca + "/peer-o2o.crt")
        route.trustAS4 = [ca + "/ca.crt"]
        try await NodeFixture.with(node) { n in
            _ = try await RouteAdministration(access: n.access, directory: node, table: nil, reloadTrust: nil).add(try route.addition(), by: OSUser.principal())
        }
        let findings = await NodeCheck(node: node).run()
        XCTAssertEqual(findings.filter { $0.severity == .error }.map(\.description), [])

        let kvitto = try NodeFixture.open(node)
        let setup = NodeInteropTests.Setup(base: base, node: node, peerAP: peerAP, peerO2O: peerO2O, pki: nil, server: server)
        let inbound = UUID().uuidString.lowercased()
        try NodeInteropTests.prepareRemoteXHE(setup, id: inbound, label: "Från en annan CA:s medlem", text: "Hej.", signer: peerO2O)
        let outbound = try await DemoNetwork.running([kvitto]) { ports in
            // Kvitto → the as4 access point: delivered (its signed receipt verified against the federation CA).
            let outbound = try await kvitto.submit(NodeFixture.message("Till as4-paketet", from: Self.local, to: Self.remote), actor: "test")
            // The as4 access point → Kvitto: recorded, validated, answered with a Meddelandekvittens it acknowledges.
            let r = try await NodeInteropTests.postRemoteXHE(setup, id: inbound, port: ports[0])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("state: ACKNOWLEDGED"), r.output)
            let done = try await DemoNetwork.wait(timeout: 60) {
                let st = try kvitto.snapshot()
                return st.messages[outbound]?.status == .delivered
                    && st.messages[inbound]?.receiptDispatch.flatMap { st.dispatches[$0] }?.outcome == .delivered
            }
            XCTAssertTrue(done, "not both ways within 60 s: \(server.output)")
            return outbound
        }
        let state = try kvitto.snapshot()
        XCTAssertEqual(state.messages[inbound]?.status, .accepted)
        XCTAssertEqual(state.messages[inbound]?.from, Self.remote)
        XCTAssertEqual(try NodeFixture.events(kvitto, "message.received", message: inbound).first?.payload["from_party"]?.stringValue, "AP-PYTHON")
        XCTAssertNotNil(try NodeFixture.events(kvitto, "transport.receipt.received", message: outbound).first)
        await kvitto.close()
        try NodeFixture.verify(node)
    }
}
