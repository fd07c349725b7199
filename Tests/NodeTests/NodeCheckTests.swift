import Foundation
import Ledger
import Node
import Transport
import X509
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto check` (``NodeCheck``): each seeded configuration mistake is found, named by its code
/// and the member it concerns, with the right severity; a correct configuration passes.
final class NodeCheckTests: XCTestCase {
    private var dir = ""
    private var node: String { dir + "/node" }

    override func setUp() async throws {
        dir = NSTemporaryDirectory() + "kvitto-check-\(UUID().uuidString)"
        var options = NodeSetup.Options(name: "node-a", participants: [
            .init(id: "0203:a.example.se", name: "Kommun A", functions: [("socialtjansten", "Socialtjänsten")])])
        options.port = try await DemoNetwork.freePorts(1)[0]
        options.apiPort = 0
        _ = try await NodeSetup.initialize(directory: node, options: options)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func findings() async -> [ConfigFinding] { await NodeCheck(node: node).run() }

    private func edit(_ change: (inout NodeConfig) -> Void) throws {
        var config = try NodeConfig.load(directory: node)
        change(&config)
        try config.save(directory: node)
    }

    /// The finding with `code` at `member`, failing the test when there is none.
    @discardableResult
    private func expect(_ code: ConfigFinding.Code, at member: String, _ severity: ConfigFinding.Severity = .error,
                        file: StaticString = #filePath, line: UInt = #line) async throws -> ConfigFinding {
        let all = await findings()
        let found = try XCTUnwrap(all.first { $0.code == code && $0.member == member }, "no \(code.rawValue) at \(member) in:\n"
                                  + all.map(\.description).joined(separator: "\n"), file: file, line: line)
        XCTAssertEqual(found.severity, severity, found.description, file: file, line: line)
        return found
    }

    private func ca() throws -> ThrowawayPKI { try NodeSetup.loadCA(node) }

    func testAFreshNodePassesWithTheThrowawayPKIAsAWarning() async throws {
        let all = await findings()
        XCTAssertEqual(all.filter { $0.severity == .error }, [])
        XCTAssertEqual(Set(all.map(\.code)), [.caKeyOnNode], all.map(\.description).joined(separator: "\n"))
    }

    func testPartyIdThatIsNotTheAS4CertificatesCN() async throws {
        try edit { $0.as4.partyId = "kvitto-ap-someone-else" }
        let f = try await expect(.partyIdMismatch, at: "as4.party_id")
        XCTAssertTrue(f.message.contains("kvitto-ap-node-a"), f.message)
    }

    func testO2OCertificateOfAnotherOrganisation() async throws {
        try NodeSetup.write(identity: try ca().issue(commonName: "0203:b.example.se", organization: "Region B"), node + "/pki/o2o-other")
        try edit { $0.participants[0].o2oKey = "pki/o2o-other.key"; $0.participants[0].o2oCertificate = "pki/o2o-other.crt" }
        try await expect(.wrongOrganisation, at: "participants[0].o2o_certificate")
        // Only that: the pair and the chain are fine.
        let others = await findings().filter { $0.severity == .error && $0.code != .wrongOrganisation }
        XCTAssertEqual(others, [])
    }

    func testTrustedCAWhoseKeyIsOnTheNode() async throws {
        try edit { $0.throwawayPki = nil }
        let f = try await expect(.caKeyOnNode, at: "trust.as4")
        XCTAssertTrue(f.message.contains("pki/ca.key"), f.message)
        try await expect(.caKeyOnNode, at: "trust.tls")
    }

    func testExpiredRouteCertificate() async throws {
        let pki = try ca()
        let expired = try pki.issue(commonName: "kvitto-ap-b", notBefore: Date().addingTimeInterval(-400 * 86_400), days: 300)
        try NodeSetup.write(identity: expired, node + "/routes/b.as4")
        try NodeSetup.write(identity: try pki.issue(commonName: "0203:b.example.se", organization: "Region B"), node + "/routes/b.o2o")
        try edit {
            $0.routes = [.init(participant: "0203:b.example.se", endpoint: "https://127.0.0.1:1/as4",
                               as4Certificate: "routes/b.as4.crt", o2oCertificate: "routes/b.o2o.crt")]
        }
        let f = try await expect(.certificateExpired, at: "routes[0].as4_certificate")
        XCTAssertTrue(f.message.contains("expired on"), f.message)
    }

    func testUnboundedRetries() async throws {
        try edit { $0.receptionAwareness.retries = 1_000_000 }
        let f = try await expect(.configInvalid, at: "kvitto.json")
        XCTAssertTrue(f.message.contains("retries"), f.message)
    }

    func testMissingKeyFile() async throws {
        try FileManager.default.removeItem(atPath: node + "/pki/as4.key")
        try await expect(.missingFile, at: "as4.key")
    }

    func testKeyThatIsNotTheCertificatesKey() async throws {
        try edit { $0.as4.key = "pki/tls.key" }
        let f = try await expect(.keyUnusable, at: "as4.key")
        XCTAssertTrue(f.message.contains("does not belong"), f.message)
    }

    func testCertificateFromACANotInTheTrustFolder() async throws {
        let stranger = try ThrowawayPKI(commonName: "Another CA")
        try NodeSetup.write(identity: try stranger.issue(commonName: "kvitto-ap-node-a", organization: "node-a"), node + "/pki/as4")
        try await expect(.untrustedCertificate, at: "as4.certificate")
    }

    func testAPIOnTheAS4Port() async throws {
        try edit { $0.api?.port = $0.as4.port }
        let f = try await expect(.configInvalid, at: "kvitto.json")
        XCTAssertTrue(f.message.contains("same address"), f.message)
    }

    func testUnboundedTimeoutsAndSizes() async throws {
        for (change, name) in [({ (c: inout NodeConfig) in c.as4.sendTimeoutSeconds = 1e9 }, "as4.send_timeout_seconds"),
                               ({ (c: inout NodeConfig) in c.as4.connectTimeoutSeconds = 0 }, "as4.connect_timeout_seconds"),
                               ({ (c: inout NodeConfig) in c.as4.maxMessageBytes = 1 << 50 }, "as4.max_message_bytes"),
                               ({ (c: inout NodeConfig) in c.ledgerCommitDelayMs = 500 }, "ledger_commit_delay_ms"),
                               ({ (c: inout NodeConfig) in c.ledgerCommitDelayMs = -1 }, "ledger_commit_delay_ms")] {
            var config = try NodeConfig.load(directory: node)
            let saved = config
            change(&config)
            try config.save(directory: node)
            let f = try await expect(.configInvalid, at: "kvitto.json")
            XCTAssertTrue(f.message.contains(name), f.message)
            try saved.save(directory: node)
        }
    }

    /// `ledger_commit_delay_ms` is the delay the node's ledger commits with; absent, the default.
    func testLedgerCommitDelayIsTheConfiguredOne() async throws {
        for (setting, expected) in [(nil, Node.defaultLedgerCommitDelayMs / 1000), (0, 0), (25, 0.025)] as [(Double?, Double)] {
            try edit { $0.ledgerCommitDelayMs = setting }
            let opened = try Node.open(directory: node)
            XCTAssertEqual(opened.ledger.options.commitDelay, expected, accuracy: 1e-9, "ledger_commit_delay_ms \(setting.map { "\($0)" } ?? "absent")")
            await opened.close()
        }
        XCTAssertNotEqual(Node.defaultLedgerCommitDelayMs, 0)
    }

    func testAPIOnTheAS4PortOfAWildcardAddress() async throws {
        try edit { $0.api?.host = "0.0.0.0"; $0.api?.port = $0.as4.port }
        let f = try await expect(.configInvalid, at: "kvitto.json")
        XCTAssertTrue(f.message.contains("same address"), f.message)
    }

    func testPortTakenByAnotherProcessIsAWarning() async throws {
        let port = try NodeConfig.load(directory: node).as4.port
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(listener, 1), 0)
        try await expect(.portConflict, at: "as4.port", .warning)
    }

    func testMissingTrustFolder() async throws {
        try edit { $0.trust.o2o = "trust/absent" }
        let f = try await expect(.missingFile, at: "trust.o2o")
        XCTAssertFalse(f.message.contains("NSCocoaErrorDomain"), f.message)
    }

    func testCertificateExpiringWithinThirtyDaysIsAWarning() async throws {
        let soon = try ca().issue(commonName: "kvitto-ap-node-a", organization: "node-a", notBefore: Date().addingTimeInterval(-86_400), days: 11)
        try NodeSetup.write(identity: soon, node + "/pki/as4")
        try await expect(.certificateExpiring, at: "as4.certificate", .warning)
        let errors = await findings().filter { $0.severity == .error }
        XCTAssertEqual(errors, [])
    }

    func testAS4CertificateThatCannotBeEncryptedTo() async throws {
        let signOnly = try ca().issue(commonName: "kvitto-ap-node-a", organization: "node-a", keyUsage: KeyUsage(digitalSignature: true))
        try NodeSetup.write(identity: signOnly, node + "/pki/as4")
        try await expect(.keyUsage, at: "as4.certificate")
    }

    func testTLSCertificateWithoutTheListeningHost() async throws {
        try edit { $0.as4.host = "10.20.30.40" }
        try await expect(.hostNotInCertificate, at: "as4.tls.certificate", .warning)
    }

    func testMissingSchemasFolder() async throws {
        try edit { $0.schemas = "no-such-schemas" }
        try await expect(.missingFile, at: "schemas")
    }

    func testExpiredCAInTheTrustFolderIsAWarning() async throws {
        let old = try ThrowawayPKI(commonName: "Retired CA", notBefore: Date().addingTimeInterval(-3 * 365 * 86_400), years: 1)
        try CertificateFile.pem(old.root).write(toFile: node + "/trust/as4/retired.crt", atomically: true, encoding: .utf8)
        try await expect(.certificateExpired, at: "trust.as4", .warning)
        let errors = await findings().filter { $0.severity == .error }
        XCTAssertEqual(errors, [])
    }

    func testUnreadableFileInATrustFolder() async throws {
        try "not a certificate".write(toFile: node + "/trust/tls/junk.pem", atomically: true, encoding: .utf8)
        try await expect(.trustFolderInvalid, at: "trust.tls")
    }

    func testRouteToOurOwnParticipant() async throws {
        try edit {
            $0.routes = [.init(participant: "0203:a.example.se", endpoint: "https://127.0.0.1:1/as4",
                               as4Certificate: "pki/as4.crt", o2oCertificate: "pki/o2o-0203-a-example-se.crt")]
        }
        try await expect(.routeInvalid, at: "routes[0].participant")
    }

    func testRouteO2OCertificateOfAnotherOrganisation() async throws {
        let pki = try ca()
        try NodeSetup.write(identity: try pki.issue(commonName: "kvitto-ap-b"), node + "/routes/b.as4")
        try NodeSetup.write(identity: try pki.issue(commonName: "0203:c.example.se", organization: "Region C"), node + "/routes/b.o2o")
        try edit {
            $0.routes = [.init(participant: "0203:b.example.se", endpoint: "https://127.0.0.1:1/as4",
                               as4Certificate: "routes/b.as4.crt", o2oCertificate: "routes/b.o2o.crt")]
        }
        try await expect(.wrongOrganisation, at: "routes[0].o2o_certificate")
    }
}
