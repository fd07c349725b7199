import AsyncHTTPClient
import Foundation
import Ledger
import NIOCore
import NIOSSL
import Node
import Projections
import Transport
import XCTest

/// Acceptance of the hardening issue, from outside the process: a `kvitto serve` node (HTTPS,
/// mutual TLS) takes 10,000 garbage requests from a client with a federation TLS certificate but
/// no valid AS4 signature, 100 connection attempts without a client certificate, oversized bodies
/// (three parallel 190 MiB bodies and one of 300 MB), and 1,000 correctly signed messages from an
/// authenticated access point that it must refuse. Then:
/// - the ledger grew by at most one event per (access point, error code) per coalescing interval
///   (here three codes, so at most 3 × (1 + minutes elapsed) events), and by none for garbage;
/// - the server's peak resident memory (VmHWM) stayed under 300 MB;
/// - a valid message is still delivered and accepted (its latency before and after is printed).
final class HostilePeerTests: XCTestCase {
    func testHostilePeersCannotDriveTheLedgerOrTheMemory() async throws {
        let dir = ScratchDir("hostile")
        defer { if (testRun?.failureCount ?? 0) == 0 { dir.remove() } else { print("kept: \(dir.path)") } }
        let (a, b, ports) = try await Self.twoNodes(dir)
        let server = try NodeCrashTests.Server(node: b, log: dir.sub("b.log"), logLevel: "notice")
        defer { server.kill() }
        let url = "https://127.0.0.1:\(ports[1])/as4"
        let nodeA = try Node.open(directory: a)
        let found = try await nodeA.router.route(to: "0203:b.example.se")
        let route = try XCTUnwrap(found)
        let tls = try XCTUnwrap(nodeA.keys.tls)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try Self.configuration(AS4TLS(identity: tls, trustAnchors: nodeA.keys.tlsTrust.anchors)))
        var noCertificate = TLSConfiguration.makeClientConfiguration()
        noCertificate.trustRoots = .certificates(try nodeA.keys.tlsTrust.anchors.map { try NIOSSLCertificate(bytes: CertificateFile.der($0), format: .der) })
        var anonymousConfiguration = HTTPClient.Configuration(tlsConfiguration: noCertificate)
        anonymousConfiguration.connectionPool.retryConnectionEstablishment = false
        let anonymous = HTTPClient(eventLoopGroupProvider: .singleton, configuration: anonymousConfiguration)

        let before = try await Self.exchange(nodeA)
        let headBefore = try Self.head(b)
        let start = Date()

        // 1. 10,000 garbage requests over an authenticated TLS connection, 8 at a time.
        // 0. A value with a newline and a forged log line, sent first so that its refusal is the
        // one logged for its error code.
        var forged = HTTPClientRequest(url: url)
        forged.method = .POST
        let forgedBody = try Self.forgedLogLine(nodeA, route: route, ca: a)
        forged.headers.add(name: "Content-Type", value: forgedBody.contentType)
        forged.body = .bytes(ByteBuffer(bytes: forgedBody.body))
        _ = try await client.execute(forged, timeout: .seconds(30)).body.collect(upTo: 1 << 20)
        let garbage = Self.garbageBodies()
        let answered = try await Self.parallel(10_000, width: 8) { i in
            let (type, body) = garbage[i % garbage.count]
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status.code == 200 ? 1 : 0
        }
        XCTAssertEqual(answered, 10_000, "every garbage request is answered with an ebMS error")
        // 2. 100 connections without a client certificate: refused in the TLS handshake.
        let refusedConnections = try await Self.parallel(100, width: 4) { _ in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: "<x/>"))
            do {
                _ = try await anonymous.execute(request, timeout: .seconds(10))
                return 0
            } catch { return 1 }
        }
        XCTAssertEqual(refusedConnections, 100, "a client without a certificate got an HTTP answer")
        // 3. Oversized bodies: three parallel 190 MiB SOAP bodies, then one of 300 MB.
        for (count, size) in [(3, 190 << 20), (1, 300_000_000)] {
            _ = try await Self.parallel(count, width: count) { _ in
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/soap+xml")
                request.body = .stream(Self.Filler(total: size), length: .known(Int64(size)))
                do {
                    let response = try await client.execute(request, timeout: .seconds(120))
                    _ = try await response.body.collect(upTo: 1 << 20)
                } catch {}  // the server may close the connection once it refused the body
                return 1
            }
        }
        // 4. 1,000 correctly signed messages from node A's access point that B refuses.
        let signed = try await Self.parallel(1_000, width: 8) { i in
            let wire = try Self.refusedMessage(nodeA, route: route, variant: i % 3)
            var body: [UInt8] = []
            let type = try wire.httpBody { body.append(contentsOf: $0) }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return text.contains("eb:Error") ? 1 : 0
        }
        XCTAssertEqual(signed, 1_000, "every signed message was refused with an ebMS error")
        let elapsed = Date().timeIntervalSince(start)

        let growth = try Self.head(b) - headBefore
        let bound = 3 * (1 + Int(elapsed / 60))
        let hwm = Self.peakResidentMiB(server.process.processIdentifier)
        let after = try await Self.exchange(nodeA)
        print("hostile peers: \(String(format: "%.1f", elapsed)) s; ledger +\(growth) events (bound \(bound)); server VmHWM \(hwm) MiB; valid exchange \(String(format: "%.2f", before)) s before, \(String(format: "%.2f", after)) s after")
        XCTAssertLessThanOrEqual(growth, bound, "the ledger grew by \(growth) events")
        XCTAssertGreaterThan(hwm, 0, "VmHWM of the server could not be read")
        XCTAssertLessThan(hwm, 300, "peak resident memory of the server")
        XCTAssertLessThan(after, 30)
        // A peer-supplied value with a newline never starts a line of the server's log.
        let log = try String(contentsOfFile: dir.sub("b.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("node compromised"), "the refusal with the forged value was not logged")
        XCTAssertFalse(log.split(separator: "\n").contains { $0.hasPrefix(Self.forgedPrefix) }, "a peer value started a log line")
        try await client.shutdown()
        try await anonymous.shutdown()
        await nodeA.close()
        XCTAssertTrue(server.stop())
        XCTAssertEqual(try KvittoProcess.run(["ledger", "verify", "--ledger", b + "/ledger"]).status, 0)
    }

    /// Node A (Kommun A, socialtjansten) and node B (Region B, registrator) with routes to each
    /// other, set up with `kvitto init` and `kvitto route add`; returns their folders and ports.
    static func twoNodes(_ dir: ScratchDir) async throws -> (a: String, b: String, ports: [Int]) {
        let a = dir.sub("node-a"), b = dir.sub("node-b")
        let ports = try await DemoNetwork.freePorts(2)
        for args in [["init", a, "--name", "node-a", "--participant", "0203:a.example.se=Kommun A",
                      "--function", "socialtjansten@0203:a.example.se=Socialtjänsten", "--port", "\(ports[0])"],
                     ["init", b, "--name", "node-b", "--participant", "0203:b.example.se=Region B",
                      "--function", "registrator@0203:b.example.se=Registraturen", "--port", "\(ports[1])", "--ca", a],
                     ["route", "add", "--node", a, "--peer", b], ["route", "add", "--node", b, "--peer", a]] {
            let r = try KvittoProcess.run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        return (a, b, ports)
    }

    static func configuration(_ tls: AS4TLS) throws -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration(tlsConfiguration: try tls.clientConfiguration())
        c.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 8
        return c
    }

    /// Seconds from submitting a message at node A (run in this process) to B's ACCEPTED.
    static func exchange(_ node: Node) async throws -> Double {
        try await DemoNetwork.running([node]) { _ in
            let start = Date()
            let id = try await node.submit(OutboundMessage(from: FunctionalAddress(participant: "0203:a.example.se", function: "socialtjansten"),
                                                           to: FunctionalAddress(participant: "0203:b.example.se", function: "registrator"),
                                                           label: "Efter angreppet", texts: ["Hej"], attachments: []), actor: "test")
            let done = try await DemoNetwork.wait(timeout: 60) { try node.snapshot().messages[id]?.status == .accepted }
            XCTAssertTrue(done, "the valid message was not accepted")
            return Date().timeIntervalSince(start)
        }
    }

    /// Garbage of several shapes, none carrying a valid AS4 signature.
    static func garbageBodies() -> [(String, [UInt8])] {
        var rng = SystemRandomNumberGenerator()
        let soap = "http://www.w3.org/2003/05/soap-envelope"
        var out: [(String, [UInt8])] = [
            ("application/soap+xml", (0..<512).map { _ in UInt8.random(in: 0...255, using: &rng) }),
            ("application/soap+xml", Array("<S12:Envelope xmlns:S12=\"\(soap)\"><S12:Header/><S12:Body/></S12:Envelope>".utf8)),
            ("application/soap+xml", Array((String(repeating: "<a>", count: 5000) + String(repeating: "</a>", count: 5000)).utf8)),
            ("application/soap+xml", Array("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>".utf8)),
            ("multipart/related; boundary=b; type=\"application/soap+xml\"", Array("--b\r\nContent-Type: application/soap+xml\r\n\r\n<x/>\r\n--b--\r\n".utf8)),
            ("multipart/related; boundary=zz", Array("no boundary here at all".utf8)),
            ("text/plain", Array("hello".utf8)),
        ]
        out.append(("application/soap+xml", Array("<S12:Envelope xmlns:S12=\"\(soap)\" xmlns:eb=\"http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/\"><S12:Header><eb:Messaging><eb:UserMessage><eb:MessageInfo><eb:Timestamp>2026-01-01T00:00:00Z</eb:Timestamp><eb:MessageId>x&#10;kvitto: forged log line</eb:MessageId></eb:MessageInfo></eb:UserMessage></eb:Messaging></S12:Header><S12:Body/></S12:Envelope>".utf8)))
        return out
    }

    static let forgedPrefix = "2026-01-01T00:00:00Z critical kvitto.node"

    /// A message signed with a certificate from the federation's CA whose common name carries a
    /// newline and a forged log line: the access point refuses it (the CN is not the From
    /// PartyId) and names the CN in the refusal it logs.
    static func forgedLogLine(_ a: Node, route: Route, ca: String) throws -> (contentType: String, body: [UInt8]) {
        let signer = try NodeSetup.loadCA(ca).issue(commonName: "AP-NODE-A\n\(forgedPrefix): node compromised")
        let wire = try AS4Sealer(pmode: a.pmode, signer: signer).seal(
            try refusedUserMessage(a, route: route, variant: 1), payloads: [AS4Payload(contentID: SDKAS4.messagePartID, mimeType: "application/xml",
                                                                                 content: Spool(bytes: Array("<x/>".utf8)))],
            recipient: route.as4Certificate)
        var body: [UInt8] = []
        let contentType = try wire.httpBody { body.append(contentsOf: $0) }
        return (contentType, body)
    }

    /// A message signed and encrypted by A's access point that B refuses: 0 an unknown final
    /// recipient (NOT_SERVICED), 1 a ConversationId that is not the XHE ID (EBMS:0003), 2 an
    /// unknown action (EBMS:0001).
    static func refusedMessage(_ a: Node, route: Route, variant: Int) throws -> AS4WireMessage {
        let user = try refusedUserMessage(a, route: route, variant: variant)
        let recipient = user.property("finalRecipient") ?? ""
        // Variant 1's ConversationId is "not-" + the XHE ID.
        let xheID = variant == 1 ? String(user.conversationId.dropFirst(4)) : user.conversationId
        let xhe = XHEEnvelope(id: xheID, creationDateTime: SDKMessage.timestamp(Date()),
                              businessScope: XHEEnvelope.businessScope(for: .sdkMessage, model: .base),
                              fromParty: "0203:a.example.se", toParty: recipient,
                              payload: .init(documentTypeCode: XHEEnvelope.DocumentType.sdkMessage.documentTypeCode, handlingServiceID: "registrator",
                                             content: .xml(Array("<x xmlns=\"urn:x\"/>".utf8)))).xml()
        return try AS4Sealer(pmode: a.pmode, signer: a.keys.as4).seal(
            user, payloads: [AS4Payload(contentID: SDKAS4.messagePartID, mimeType: "application/xml", content: Spool(bytes: xhe))],
            recipient: route.as4Certificate)
    }

    static func refusedUserMessage(_ a: Node, route: Route, variant: Int) throws -> UserMessage {
        let id = UUID().uuidString.lowercased()
        let recipient = variant == 0 ? "0203:elsewhere.example.se" : "0203:b.example.se"
        return UserMessage(
            messageId: AS4Endpoint.newMessageID(), timestamp: AS4Time.string(Date()),
            from: .init(id: a.config.as4.partyId, type: SDKAS4.partyType, role: SDKAS4.initiatorRole),
            to: .init(id: route.partyId, type: SDKAS4.partyType, role: SDKAS4.responderRole),
            service: SDKAS4.service, serviceType: SDKAS4.serviceType, action: variant == 2 ? "urn:kvitto:no-such-action" : SDKAS4.messageAction,
            conversationId: variant == 1 ? "not-" + id : id,
            properties: [.init(name: "originalSender", type: SDKAS4.participantScheme, value: "0203:a.example.se"),
                         .init(name: "finalRecipient", type: SDKAS4.participantScheme, value: recipient)],
            parts: [])
    }

    /// Runs `count` jobs, `width` at a time; returns the sum of their results.
    static func parallel(_ count: Int, width: Int, _ job: @escaping @Sendable (Int) async throws -> Int) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0, sum = 0
            while next < min(width, count) { let i = next; group.addTask { try await job(i) }; next += 1 }
            while let r = try await group.next() {
                sum += r
                if next < count { let i = next; group.addTask { try await job(i) }; next += 1 }
            }
            return sum
        }
    }

    static func head(_ node: String) throws -> Int {
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: node + "/ledger", options: options)
        defer { ledger.close() }
        return Int(try ledger.head().seq)
    }

    static func peakResidentMiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kb / 1024
    }

    /// `total` bytes of an (endless) SOAP-looking body, in 64 KiB chunks.
    struct Filler: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let total: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            var left: Int
            let chunk = ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 << 10)
            mutating func next() async throws -> ByteBuffer? {
                guard left > 0 else { return nil }
                let n = Swift.min(left, chunk.readableBytes)
                left -= n
                return chunk.getSlice(at: 0, length: n)
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(left: total) }
    }
}
