import API
import Foundation
import Identity
import NIOSSL
import Ledger
import Node
import Projections
import Transport
import Workload
import XCTest

/// Case systems authenticated by mutual TLS (`api.client_certificates`): the certificate names the
/// caller `cert:<sha256>`, which may do only what grants to that name allow; a certificate the TLS
/// trust does not accept now (another CA at the handshake, a CRL placed in the folder since)
/// authenticates nobody; a bearer token, when sent, decides who calls.
final class ClientCertificateAPITests: XCTestCase {
    static let one = "0203:one.example.se", two = "0203:two.example.se"
    static let registrator = FunctionalAddress(participant: one, function: "registrator")
    static let elsewhere = FunctionalAddress(participant: two, function: "registrator")

    func testAFunctionCertificateIsACallerWithOnlyItsGrants() async throws {
        let base = try NodeFixture.scratch("mtls-api")
        defer { try? FileManager.default.removeItem(atPath: base) }
        var options = NodeSetup.Options(name: "node", participants: [
            .init(id: Self.one, name: "Kommun Ett", functions: [("registrator", "Registraturen")]),
            .init(id: Self.two, name: "Kommun Två", functions: [("registrator", "Registraturen")]),
        ])
        options.port = try await DemoNetwork.freePorts(1)[0]
        options.developmentIssuer = true
        options.apiPort = 0
        _ = try await NodeSetup.initialize(directory: base + "/node", options: options)
        // The operator turns client certificates on in kvitto.json.
        let configPath = base + "/node/kvitto.json"
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        var api = try XCTUnwrap(config["api"] as? [String: Any])
        api["client_certificates"] = true
        config["api"] = api
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: configPath))

        // The case system's function certificate, from the CA the node's TLS trust holds.
        let pki = try NodeSetup.loadCA(base + "/node")
        let caseSystem = try pki.issue(commonName: "Ärendesystem Registraturen", organization: "Kommun Ett")
        let certificateFile = base + "/case-system.crt"
        try CertificateFile.pem(caseSystem.certificate).write(toFile: certificateFile, atomically: true, encoding: .utf8)
        let name = "cert:" + Digest32.sha256(CertificateFile.der(caseSystem.certificate)).hex
        let stranger = try ThrowawayPKI(commonName: "Någon annans CA").issue(commonName: "Ärendesystem", organization: "Någon")
        // Another case system's certificate from an issuing CA under the root (as SITHS issues),
        // whose certificate the operator placed in the TLS trust folder beside the root.
        let issuing = try pki.intermediate(commonName: "Utfärdande CA")
        try CertificateFile.pem(issuing.root).write(toFile: base + "/node/trust/tls/issuing.crt", atomically: true, encoding: .utf8)
        let viaIntermediate = try issuing.issue(commonName: "Ärendesystem Socialtjänsten", organization: "Kommun Ett")

        let node = try NodeFixture.open(base + "/node")
        var history = SyntheticHistory(.init(participant: Self.one, functions: ["registrator"], counterparts: 5, seed: 11))
        history.appended(try await node.ledger.append(history.next(300)))
        var other = SyntheticHistory(.init(participant: Self.two, functions: ["registrator"], counterparts: 5, seed: 12))
        other.appended(try await node.ledger.append(other.next(300)))
        let issuer = try NodeIdentity.developmentIssuer(config: node.config, directory: node.directory)
        let clerk = try await issuer.mint(subject: "clerk", claims: ["https://id.oidc.se/claim/personalIdentityNumber": "197001011234"])

        let withCertificate = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt", clientIdentity: caseSystem)
        let withoutCertificate = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt")
        let foreign = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt", clientIdentity: stranger)
        let issued = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt", clientIdentity: viaIntermediate)
        // The same node's API where certificates name nobody (api.client_certificates off).
        let ignoring = try await APITestClient(node: node, caFile: base + "/node/pki/ca.crt", clientIdentity: caseSystem) {
            $0.clientCertificateTrust = nil
        }
        func stopAll() async {
            for c in [withCertificate, withoutCertificate, foreign, ignoring, issued] { await c.stop() }
            await node.close()
        }
        do {
            let mailbox = "/v1/mailboxes/\(APITestClient.escape(Self.registrator.description))/messages"
            // Who the certificate is: its hash, nothing the certificate's subject claims.
            let me = try await withCertificate.get("/v1/whoami", token: nil)
            XCTAssertEqual(me.status, 200, me.text)
            XCTAssertEqual(me.json["actor"] as? String, name)
            XCTAssertEqual(me.json["names"] as? [String], [name])

            // Without a grant it sees nothing; the refusal is recorded under its name.
            do { let r = try await withCertificate.get(mailbox, token: nil); XCTAssertEqual(r.status, 404, r.text) }
            var denied: String?
            for _ in 0..<100 where denied != name {
                _ = try node.projections.catchUp()
                denied = try LastActor.of(AccessEventType.denied, in: node)
                if denied != name { try await Task.sleep(for: .milliseconds(50)) }
            }
            XCTAssertEqual(denied, name, "the refusal is recorded with the certificate's name as actor")

            // A grant to the name: the mailbox, and nothing of the other participant.
            _ = try await GrantAdministration(access: node.access).grant(
                .init(grantee: try XCTUnwrap(PrincipalName(name)), scope: .mailbox(Self.registrator), rights: [.read], reason: "ärendesystem"),
                by: OSUser.principal())
            let page = try await withCertificate.get(mailbox, token: nil)
            XCTAssertEqual(page.status, 200, page.text)
            let ids = (page.json["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            XCTAssertFalse(ids.isEmpty, page.text)
            let trace = try await withCertificate.get("/v1/messages/\(ids[0])/trace", token: nil)
            XCTAssertEqual(trace.status, 200, trace.text)
            let otherMailbox = "/v1/mailboxes/\(APITestClient.escape(Self.elsewhere.description))/messages"
            do { let r = try await withCertificate.get(otherMailbox, token: nil); XCTAssertEqual(r.status, 404, r.text) }

            // A bearer token decides when one is sent, certificate or not: a bad one is refused,
            // never passed over for the certificate.
            let asClerk = try await withCertificate.get("/v1/whoami", token: clerk)
            XCTAssertEqual(asClerk.json["actor"] as? String, "pnr:197001011234", asClerk.text)
            let badToken = try await withCertificate.get("/v1/whoami", token: String(clerk.dropLast(4)) + "AAAA")
            XCTAssertEqual(badToken.status, 401, badToken.text)
            XCTAssertEqual(badToken.code, "auth.bad_signature", badToken.text)
            // A certificate from the issuing CA, sent without its chain: the folder completes it.
            let viaIssuing = try await issued.get("/v1/whoami", token: nil)
            XCTAssertEqual(viaIssuing.status, 200, viaIssuing.text)
            XCTAssertEqual(viaIssuing.json["actor"] as? String, "cert:" + Digest32.sha256(CertificateFile.der(viaIntermediate.certificate)).hex)
            // Its credential ends within five minutes (streams reconnect and are checked again);
            // webhooks are not fed by grants to a certificate's name.
            let principal = try await ClientCertificateAuthentication(trust: node.keys.tlsTrustStore)
                .principal(certificateDER: CertificateFile.der(caseSystem.certificate), interface: .api)
            XCTAssertLessThanOrEqual(try XCTUnwrap(principal.credentialExpiry), Date().timeIntervalSince1970 + 301)
            XCTAssertEqual(WebhookAdministration.ownerNames(principal), [])
            // No certificate and no token; a certificate where the API takes none.
            for (client, what) in [(withoutCertificate, "no certificate"), (ignoring, "client_certificates off")] {
                let r = try await client.get(mailbox, token: nil)
                XCTAssertEqual(r.status, 401, "\(what): \(r.text)")
                XCTAssertEqual(r.code, "auth.missing_token", what)
            }
            // A certificate from a CA the TLS trust does not hold: no connection at all.
            do {
                let r = try await foreign.get("/v1/whoami", token: nil)
                XCTFail("a certificate of another CA was let in: \(r.status) \(r.text)")
            } catch {
                XCTAssertTrue(String(describing: error).lowercased().contains("ssl") || String(describing: error).lowercased().contains("tls")
                              || error is NIOSSLError, "refused at the handshake, not by something else: \(error)")
            }
            do { let r = try await withCertificate.get("/v1/whoami", token: nil); XCTAssertEqual(r.status, 200, "the server still serves: \(r.text)") }

            // A CRL revoking the case system's certificate, placed in the TLS trust folder: from
            // the reload on, the certificate authenticates nobody (the handshake cannot know).
            try NodeTrustReloadTests.makeCRL(revoking: [certificateFile], caDirectory: base + "/node/pki", output: base + "/node/trust/tls/ca.crl")
            guard case .reloaded? = node.reloadTrust(force: true, reason: "test")[.tls] else { return XCTFail("the CRL was not loaded") }
            let revoked = try await withCertificate.get(mailbox, token: nil)
            XCTAssertEqual(revoked.status, 401, String(revoked.text.prefix(300)))
            XCTAssertEqual(revoked.code, "auth.certificate_refused")
            XCTAssertFalse(revoked.text.contains("Registraturen"), "the refusal names nothing of the cause: \(revoked.text)")
            // Removed again (an operator's mistake undone): accepted again at the next reload.
            try FileManager.default.removeItem(atPath: base + "/node/trust/tls/ca.crl")
            _ = node.reloadTrust(force: true, reason: "test")
            do { let r = try await withCertificate.get(mailbox, token: nil); XCTAssertEqual(r.status, 200, r.text) }
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }
}

/// The actor of the latest event of a type in a node's ledger.
private enum LastActor {
    static func of(_ type: String, in node: Node) throws -> String? {
        guard let seq = try EventIndex.seqs(.type(type), in: node.projections.storage).max() else { return nil }
        return try node.ledger.event(seq)?.actor
    }
}
