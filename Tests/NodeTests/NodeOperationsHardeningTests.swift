import Foundation
import Ledger
import Logging
import NIOCore
import Node
import Projections
import Transport
import XCTest

/// What a crash loop, a hostile request file or a flood of refused requests could do to a node.
final class NodeOperationsHardeningTests: XCTestCase {
    /// EXPONENTIAL with many retries neither overflows nor traps: the configuration is bounded
    /// and refused beyond it, and the delay arithmetic saturates at one day.
    func testExponentialRetriesAreBoundedAndSaturate() async throws {
        let policy = PMode.ReceptionAwareness(retries: 100, interval: 240, strategy: .exponential)
        for attempt in [1, 26, 27, 64, 100] {
            let delay = try XCTUnwrap(policy.delay(beforeRetry: attempt))
            XCTAssertTrue(delay.isFinite && delay <= 86_400, "attempt \(attempt): \(delay)")
            XCTAssertNotNil(Int64(exactly: (Date().addingTimeInterval(delay).timeIntervalSince1970 * 1e9).rounded()))
        }
        let (base, dirA, _) = try await NodeFixture.network("exp-config", tls: false)
        defer { try? FileManager.default.removeItem(atPath: base) }
        var config = try NodeConfig.load(directory: dirA)
        config.receptionAwareness = .init(retries: 40_000, intervalSeconds: 240, strategy: "EXPONENTIAL")
        try config.save(directory: dirA)
        XCTAssertThrowsError(try NodeConfig.load(directory: dirA)) { XCTAssertEqual(($0 as? NodeError)?.code, .configInvalid) }
        config.receptionAwareness = .init(retries: 12, intervalSeconds: 1e12, strategy: "CONSTANT")
        try config.save(directory: dirA)
        XCTAssertThrowsError(try NodeConfig.load(directory: dirA)) { XCTAssertEqual(($0 as? NodeError)?.code, .configInvalid) }
    }

    /// The submitter of a spooled request is the file's owner as the kernel reports it, not the
    /// `actor` the file claims.
    func testSpooledRequestIsRecordedAsItsFileOwner() async throws {
        let (base, dirA, _) = try await NodeFixture.network("spool-actor", tls: false)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await NodeFixture.with(dirA) { a in
            let request = try spool(dirA, ["from": NodeFixture.a.description, "to": NodeFixture.b.description, "texts": ["Hej"],
                                           "actor": "generaldirektoren@0203:a.example.se"])
            // Without a send grant the request is refused, and the refusal recorded.
            await a.processSubmissions()
            let refused = try XCTUnwrap(FileManager.default.contents(atPath: dirA + "/submissions/\(request).result.json"))
            XCTAssertEqual((try JSONSerialization.jsonObject(with: refused) as? [String: String])?["code"], "node.forbidden")
            XCTAssertEqual(try NodeFixture.events(a, AccessEventType.denied).last?.payload["reason"]?.stringValue, "no_send_grant")
            try FileManager.default.removeItem(atPath: dirA + "/submissions/\(request).result.json")
            try await NodeFixture.grant(a, [.send], on: NodeFixture.a)
            let again = try spool(dirA, ["from": NodeFixture.a.description, "to": NodeFixture.b.description, "texts": ["Hej"],
                                         "actor": "generaldirektoren@0203:a.example.se"])
            await a.processSubmissions()
            let result = try XCTUnwrap(FileManager.default.contents(atPath: dirA + "/submissions/\(again).result.json"))
            let id = try XCTUnwrap((try JSONSerialization.jsonObject(with: result) as? [String: String])?["message_id"],
                                   "\(String(decoding: result, as: UTF8.self))")
            let event = try XCTUnwrap(try NodeFixture.events(a, "message.submitted", message: id).first)
            XCTAssertEqual(event.actor, OSUser.current())
            XCTAssertEqual(event.actor, "os:" + NSUserName())
        }
    }

    /// A spooled request that fails on the node's side every time (here: its event would exceed
    /// the ledger's event size) is retried with backoff, logged, and finally moved to `failed/`
    /// with its reason; the waiting sender gets the error. It is never retried forever.
    func testSpooledRequestFailingOnOurSideEndsInFailed() async throws {
        let (base, dirA, _) = try await NodeFixture.network("spool-failed", tls: false)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await NodeFixture.with(dirA) { a in
            let huge = String(repeating: "n", count: 300_000) + ".txt"
            let request = try spool(dirA, ["from": NodeFixture.a.description, "to": NodeFixture.b.description, "texts": ["Hej"],
                                           "attachments": [["file_name": huge, "content_type": "text/plain", "content_base64": "aGVq"]]])
            try await NodeFixture.grant(a, [.send], on: NodeFixture.a)
            var now = Date()
            var rounds = 0
            while FileManager.default.fileExists(atPath: dirA + "/submissions/\(request).json"), rounds < 20 {
                await a.processSubmissions(now: now)
                now = now.addingTimeInterval(61)
                rounds += 1
            }
            XCTAssertEqual(rounds, SubmissionSpool.retryDelays.count + 1, "attempts before giving up")
            XCTAssertTrue(FileManager.default.fileExists(atPath: dirA + "/submissions/failed/\(request).json"))
            let reason = try XCTUnwrap(FileManager.default.contents(atPath: dirA + "/submissions/failed/\(request).reason.json"))
            XCTAssertTrue(String(decoding: reason, as: UTF8.self).contains("exceeds"), String(decoding: reason, as: UTF8.self))
            let result = try XCTUnwrap(FileManager.default.contents(atPath: dirA + "/submissions/\(request).result.json"))
            XCTAssertTrue(String(decoding: result, as: UTF8.self).contains("node.storage"), String(decoding: result, as: UTF8.self))
        }
    }

    /// Garbage from senders that were not authenticated adds nothing to the ledger; refusals of
    /// an authenticated access point add at most one event per error code per interval, with
    /// the number of refusals it stands for.
    func testRefusalsCannotDriveTheLedger() async throws {
        let h = try await HostileSender.make("refusals")
        defer { Task { await h.close() } }
        let endpoint = h.b.endpoint()
        let before = try h.b.ledger.head().seq
        for i in 0..<300 {
            let body = i % 2 == 0 ? Array("not xml at all \(i)".utf8) : Array("<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\"/>".utf8)
            let reply = await endpoint.handle(contentType: "application/soap+xml", body: Chunks([ByteBuffer(bytes: body)]))
            XCTAssertEqual(reply.status, 200)
            XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains("eb:Error"))
        }
        XCTAssertEqual(try h.b.ledger.head().seq, before, "unauthenticated garbage was recorded in the ledger")
        // Signed by a federation access point, but for a recipient B does not serve.
        for _ in 0..<50 {
            let id = UUID().uuidString.lowercased()
            let reply = try await h.post(try h.xhe(id: id, payload: HostileSender.sdkMessage(id: id), toParty: "0203:elsewhere.example.se"),
                                         conversationId: id, finalRecipient: "0203:elsewhere.example.se")
            XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains("NOT_SERVICED"))
        }
        let rejected = try NodeFixture.events(h.b, "message.rejected")
        XCTAssertEqual(rejected.count, 1, "\(rejected.map(\.payload))")
        XCTAssertEqual(rejected.first?.payload["from_party"]?.stringValue, h.a.config.as4.partyId)
        XCTAssertEqual(rejected.first?.payload["repeats_before"]?.intValue, 0)
    }

    /// A Meddelandekvittens that cannot be decrypted is answered with one fixed text, whatever
    /// the cause: no padding oracle through the AS4 error either.
    func testUnreadableMeddelandekvittensGetsAFixedAnswer() async throws {
        let h = try await HostileSender.make("receipt-oracle")
        defer { Task { await h.close() } }
        var details: Set<String> = []
        for plain in [Array("<a><b></a>".utf8), [0xFF, 0xFE, 0x00]] as [[UInt8]] {
            var data = try XMLEncryption.encrypt(plain, to: h.route.o2oCertificate)
            if plain.count == 3 { data.cipherValue[data.cipherValue.count - 1] ^= 0x33 }
            let id = UUID().uuidString.lowercased()
            let xhe = try XMLSigner.signEnveloped(
                h.envelope(id: id, content: .encrypted(data), function: nil, documentType: .meddelandekvittens).xml(), identity: h.signer)
            let reply = try await h.post(xhe, conversationId: id, action: SDKAS4.receiptAction)
            let text = String(decoding: reply.body, as: UTF8.self)
            let detail = try XCTUnwrap(text.range(of: "<eb:ErrorDetail>").flatMap { start in
                text.range(of: "</eb:ErrorDetail>").map { String(text[start.upperBound..<$0.lowerBound]) }
            }, text)
            details.insert(detail)
        }
        XCTAssertEqual(details.count, 1, "\(details)")
        XCTAssertFalse(details.first?.contains("padding") ?? true)
    }

    /// Peer-supplied text never starts a new log line.
    func testLoggedPeerValuesAreEscaped() {
        let lines = LogLines()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(RecordingLogHandler(lines: lines)) }
        logger.logLevel = .info
        // Metadata set on the logger (as a server sets a request id) is escaped when written.
        logger[metadataKey: "request"] = .stringConvertible("r\n2026-12-01 critical: forged")
        logger.info("refused \("id\nkvitto: forged line")", metadata: ["party": .string("AP\r\n2026-12-01 critical: node compromised"),
                                                                        "nested": .array([.string("a\u{1B}[31m")])])
        let all = lines.all.joined(separator: "\n")
        XCTAssertEqual(lines.all.count, 1)
        XCTAssertFalse(all.contains("\n"), all)
        XCTAssertFalse(all.contains("\r") || all.contains("\u{1B}"), all)
        XCTAssertTrue(all.contains("\\n") && all.contains("\\u{1B}"), all)
        XCTAssertTrue(all.contains("request=r\\n2026-12-01"), all)
        XCTAssertEqual(LogText.escape("a\\nb"), "a\\\\nb", "a literal backslash-n cannot pass for an escape")
    }

    /// Writes a submission request file by hand; returns its id.
    private func spool(_ node: String, _ object: [String: Any]) throws -> String {
        let id = UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: node + "/submissions", withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: node + "/submissions/\(id).json"))
        return id
    }
}

/// Log lines as one line of text each (what a line-oriented log would hold).
final class LogLines: @unchecked Sendable {
    // @unchecked: every access to `lines` holds `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.withLock { lines += s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
    var all: [String] { lock.withLock { lines } }
}

/// Formats each event as `level message key=value…` into ``LogLines``.
struct RecordingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        // Its own metadata under the event's, as swift-log's stream handler merges them.
        let meta = metadata.merging(event.metadata ?? [:]) { _, event in event }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("\(event.level) \(event.message) \(meta)")
    }
}
