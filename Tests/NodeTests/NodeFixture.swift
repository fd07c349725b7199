import Foundation
import Ledger
import Logging
import Node
import Projections
import XCTest

/// Two nodes in a temporary directory (see `DemoNetwork`), and helpers to read their ledgers.
enum NodeFixture {
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func scratch(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "kvitto-node-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func network(_ label: String, tls: Bool = true, retries: Int = 12, interval: Double = 240) async throws -> (base: String, a: String, b: String) {
        let base = try scratch(label)
        var settings = DemoNetwork.Settings()
        settings.tls = tls
        settings.receptionAwareness = .init(retries: retries, intervalSeconds: interval, strategy: "CONSTANT")
        let (a, b) = try await DemoNetwork.create(in: base, settings: settings)
        return (base, a, b)
    }

    /// Opens a node with warnings-only logs.
    /// One node in `base/node` serving `participants` with the development issuer on (API tests:
    /// `kvitto token`'s tokens), opened.
    static func apiNode(in base: String, _ participants: [NodeSetup.ParticipantSpec]) async throws -> Node {
        var options = NodeSetup.Options(name: "shared", participants: participants)
        options.port = try await DemoNetwork.freePorts(1)[0]
        options.developmentIssuer = true
        options.apiPort = 0
        _ = try await NodeSetup.initialize(directory: base + "/node", options: options)
        return try open(base + "/node")
    }

    /// Two nodes in `base`, peers of each other over AS4: `shared` serving `p1` and `p2` (two
    /// participants, one functional address each) and `other` serving Region B (``b``).
    static func sharedAndOther(in base: String, _ p1: FunctionalAddress, _ p2: FunctionalAddress, developmentIssuer: Bool = true,
                               apiPort: Int = 0) async throws {
        var shared = NodeSetup.Options(name: "shared", participants: [
            .init(id: p1.participant, name: "Kommun Ett", functions: [(p1.function, "Kansliet")]),
            .init(id: p2.participant, name: "Kommun Två", functions: [(p2.function, "Kansliet")]),
        ])
        shared.port = try await DemoNetwork.freePorts(1)[0]
        shared.developmentIssuer = developmentIssuer
        shared.apiPort = apiPort
        _ = try await NodeSetup.initialize(directory: base + "/shared", options: shared)
        try await addOther(in: base, apiPort: 0)
    }

    /// Creates `base/other`, a node serving Region B (``b``) with certificates from the CA of
    /// `base/shared`, and makes the two peers of each other.
    static func addOther(in base: String, tls: Bool = true, apiPort: Int? = nil) async throws {
        var other = NodeSetup.Options(name: "other", participants: [.init(id: b.participant, name: "Region B",
                                                                          functions: [(b.function, "Registraturen")])])
        other.tls = tls
        other.port = try await DemoNetwork.freePorts(1)[0]
        other.apiPort = apiPort
        other.ca = base + "/shared"
        _ = try await NodeSetup.initialize(directory: base + "/other", options: other)
        try await NodeSetup.addPeer(directory: base + "/shared", peer: base + "/other")
        try await NodeSetup.addPeer(directory: base + "/other", peer: base + "/shared")
    }

    /// Runs `node` and `remote` (``sharedAndOther(in:_:_:developmentIssuer:apiPort:)``) until
    /// Region B's messages "Ansökan Malmö" to `p1` (with `attachment`) and "Hemligt för två" to `p2`
    /// are accepted; closes `remote` and returns the two message ids.
    static func deliverOneEach(_ node: Node, from remote: Node, _ p1: FunctionalAddress, _ p2: FunctionalAddress,
                               attachment: [UInt8] = Array("bilaga".utf8)) async throws -> (toOne: String, toTwo: String) {
        let ids = try await DemoNetwork.running([node, remote]) { _ in
            let toOne = try await remote.submit(message("Ansökan Malmö", from: b, to: p1, attachment: attachment), actor: "test")
            let toTwo = try await remote.submit(message("Hemligt för två", from: b, to: p2), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) {
                let s = try node.snapshot()
                return s.messages[toOne]?.status == .accepted && s.messages[toTwo]?.status == .accepted
            }
            XCTAssertTrue(done)
            return (toOne, toTwo)
        }
        await remote.close()
        return ids
    }

    static func open(_ directory: String) throws -> Node {
        var logger = Logger(label: "kvitto.test")
        logger.logLevel = .warning
        return try Node.open(directory: directory, logger: logger)
    }

    /// Opens the node in `directory`, runs `body` and closes the node whether `body` throws or not
    /// (a node left open would stop the test process when its HTTP client is released).
    static func with<T>(_ directory: String, _ body: (Node) async throws -> T) async throws -> T {
        let node = try open(directory)
        do {
            let result = try await body(node)
            await node.close()
            return result
        } catch {
            await node.close()
            throw error
        }
    }

    /// Grants the OS user running the tests `rights` on `mailbox` (as the node administrator
    /// `kvitto init` made it).
    static func grant(_ node: Node, _ rights: Set<AccessRight>, on mailbox: FunctionalAddress) async throws {
        _ = try await GrantAdministration(access: node.access).grant(
            .init(grantee: OSUser.principalName(), scope: .mailbox(mailbox), rights: rights, reason: "test"), by: OSUser.principal())
    }

    static let a = FunctionalAddress(participant: DemoNetwork.a.participant, function: DemoNetwork.a.function)
    static let b = FunctionalAddress(participant: DemoNetwork.b.participant, function: DemoNetwork.b.function)

    /// Starts the nodes in `a` and `b`, sends one message from a to b labelled `label`, waits
    /// (60 s at most) until a's record of it has `status`, stops both; the message id.
    static func exchange(_ a: String, _ b: String, _ label: String, until status: MessageStatus,
                         file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        let nodeA = try open(a), nodeB = try open(b)
        let id = try await DemoNetwork.running([nodeA, nodeB]) { _ in
            let id = try await nodeA.submit(message(label), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) { try nodeA.snapshot().messages[id]?.status == status }
            XCTAssertTrue(done, "\(label): \(String(describing: try? nodeA.snapshot().messages[id]))", file: file, line: line)
            return id
        }
        await nodeA.close()
        await nodeB.close()
        return id
    }

    static func message(_ label: String = "Test", from: FunctionalAddress = a, to: FunctionalAddress = b, attachment: [UInt8] = Array("bilaga".utf8))
        -> OutboundMessage
    {
        OutboundMessage(from: from, to: to, label: label, texts: ["Hej från testet."],
                        attachments: [.init(fileName: "bilaga.txt", contentType: "text/plain", content: attachment)])
    }

    /// Events of `node`'s ledger with `type` (and subject `message:<id>` when given).
    static func events(_ node: Node, _ type: String, message id: String? = nil) throws -> [Event] {
        var out: [Event] = []
        var from: UInt64 = 1
        while true {
            let page = try node.ledger.events(from: from, limit: 1000)
            if page.isEmpty { break }
            out += page.filter { $0.type == type && (id == nil || $0.subject == "message:" + id!) }
            from = page.last!.seq + 1
        }
        return out
    }

    /// Verifies the ledger of the node in `directory` (read-only; the node may be closed).
    static func verify(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: directory + "/ledger", options: options)
        defer { ledger.close() }
        let report = LedgerVerifier(ledger: ledger).run()
        XCTAssertNil(report.failure, "ledger of \(directory): \(String(describing: report.failure))", file: file, line: line)
        XCTAssertGreaterThan(report.events, 1, file: file, line: line)
        // The persisted working state, caught up, holds what the in-memory fold holds.
        let engine = try NodeProjectionStore.open(node: directory, ledger: ledger)
        let seq = try engine.catchUp()
        XCTAssertEqual(try NodeStateProjection.load(from: engine.storage, seq: seq), try Projector(ledger: ledger).snapshot(),
                       "the persisted state of \(directory) differs from the in-memory fold", file: file, line: line)
    }
}
