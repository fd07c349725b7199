import Foundation
import Ledger
import Node
import Projections
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Acceptance: 100 messages in flight between two `kvitto serve` processes (HTTPS, mutual TLS);
/// the sender — in a second run the receiver — is killed with SIGKILL at random moments and
/// restarted. Every message ends delivered exactly once with both receipts, retries keep to the
/// schedule stored in the ledger, and both ledgers verify.
final class NodeCrashTests: XCTestCase {
    enum Victim { case sender, receiver }

    func testSenderKilledDuringLoad() async throws { try await run(killing: .sender) }

    func testReceiverKilledDuringLoad() async throws { try await run(killing: .receiver) }

    private func run(killing victim: Victim) async throws {
        let dir = ScratchDir("crash")
        defer {
            // Keep the nodes of a failed run for inspection.
            if (testRun?.totalFailureCount ?? 1) == 0 { dir.remove() } else { print("kept: \(dir.path)") }
        }
        let (a, b, from, to) = try await TwoNodes.initialise(dir)
        try kvitto(["grant", "--node", a, "--grantee", "os:\(NSUserName())", "--scope", "mailbox:socialtjansten@0203:a.example.se",
                    "--rights", "send", "--reason", "the test sends"])
        // 95 messages queued while the sender is stopped…
        var ids = try await Self.queue(95, node: a, from: from, to: to)
        var receiver = try Server(node: b, log: dir.sub("b.log"))
        var sender = try Server(node: a, log: dir.sub("a.log"))
        defer { receiver.kill(); sender.kill() }
        // …and 5 handed to the running sender by `kvitto send`.
        for i in 95..<100 {
            let r = try KvittoProcess.run(["send", "--node", a, "--from", from.description, "--to", to.description, "--text", "Meddelande \(i)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            ids.insert(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(ids.count, 100)
        // Kill the victim at random moments while the messages are in flight.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...1200, using: &rng)))
            switch victim {
            case .sender:
                sender.kill()
                sender = try Server(node: a, log: dir.sub("a.log"))
            case .receiver:
                receiver.kill()
                receiver = try Server(node: b, log: dir.sub("b.log"))
            }
        }
        // Everything completes (bounded).
        let deadline = Date().addingTimeInterval(240)
        var state: (a: NodeProjection, b: NodeProjection)
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            state = (try Self.snapshot(a), try Self.snapshot(b))
            let sent = ids.allSatisfy { state.a.messages[$0]?.status == .accepted }
            let answered = ids.allSatisfy { id in
                state.b.messages[id]?.receiptDispatch.flatMap { state.b.dispatches[$0] }?.outcome == .delivered
            }
            if sent && answered { break }
        } while Date() < deadline
        XCTAssertTrue(sender.stop(), "the sender did not stop cleanly on SIGTERM")
        XCTAssertTrue(receiver.stop(), "the receiver did not stop cleanly on SIGTERM")
        state = (try Self.snapshot(a), try Self.snapshot(b))
        let pending = ids.filter { state.a.messages[$0]?.status != .accepted }
        XCTAssertTrue(pending.isEmpty, "\(pending.count) messages not accepted: \(pending.prefix(3).map { "\($0): \(String(describing: state.a.messages[$0]?.status))" })\nA: \(Self.tail(dir.sub("a.log")))\nB: \(Self.tail(dir.sub("b.log")))")
        // Exactly once, both receipts, on both sides.
        let eventsA = try Self.events(a), eventsB = try Self.events(b)
        func count(_ events: [Event], _ type: String, _ id: String) -> Int { events.filter { $0.type == type && $0.subject == "message:" + id }.count }
        for id in ids {
            XCTAssertEqual(count(eventsA, "message.submitted", id), 1, id)
            XCTAssertGreaterThanOrEqual(count(eventsA, "transport.receipt.received", id), 1, id)
            XCTAssertEqual(count(eventsA, "message.receipt.received", id), 1, id)
            XCTAssertEqual(count(eventsA, "message.delivery.failed", id), 0, id)
            XCTAssertEqual(count(eventsB, "message.received", id), 1, "delivered more than once: \(id)")
            XCTAssertEqual(count(eventsB, "message.receipt.sent", id), 1, id)
        }
        // One AS4 receipt per received AS4 message, however often it was resent.
        for events in [eventsA, eventsB] {
            let sent = events.filter { $0.type == "transport.receipt.sent" }.compactMap { $0.payload["as4_message_id"]?.stringValue }
            XCTAssertEqual(sent.count, Set(sent).count, "an AS4 receipt was recorded twice")
        }
        // Retries kept to the schedule stored in the ledger.
        for events in [eventsA, eventsB] {
            let dispatched = Dictionary(grouping: events.filter { $0.type == "message.dispatched" }) { $0.payload["as4_message_id"]?.stringValue ?? "" }
            for failure in events where failure.type == "transport.attempt.failed" {
                guard let next = failure.payload["next_attempt_at"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }),
                      let as4 = failure.payload["as4_message_id"]?.stringValue else { continue }
                let later = (dispatched[as4] ?? []).filter { $0.seq > failure.seq }
                if let retry = later.first { XCTAssertGreaterThanOrEqual(retry.time, next, "retry of \(as4) before its scheduled time") }
            }
        }
        // The kills hit work in flight: attempts interrupted by a kill, or failed because the peer was down.
        let disturbed = Self.interrupted(eventsA) + Self.interrupted(eventsB)
            + (eventsA + eventsB).filter { $0.type == "transport.attempt.failed" }.count
        XCTAssertGreaterThan(disturbed, 0, "no attempt was interrupted or failed: the kills missed the load")
        for n in [a, b] {
            let r = try KvittoProcess.run(["ledger", "verify", "--ledger", n + "/ledger"])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        }
    }

    /// Submits `count` messages to the stopped node in `directory` (this process must not keep
    /// the ledger open afterwards: LMDB allows one open environment per file and process).
    static func queue(_ count: Int, node directory: String, from: FunctionalAddress, to: FunctionalAddress) async throws -> Set<String> {
        let node = try Node.open(directory: directory)
        var ids: Set<String> = []
        for i in 0..<count {
            ids.insert(try await node.submit(OutboundMessage(from: from, to: to, label: "Last \(i)", texts: ["Meddelande \(i)"],
                                                             attachments: [.init(fileName: "b\(i).txt", contentType: "text/plain",
                                                                                 content: Array("bilaga \(i)".utf8))]),
                                             actor: "test"))
        }
        await node.close()
        return ids
    }

    private func kvitto(_ args: [String]) throws {
        let r = try KvittoProcess.run(args)
        XCTAssertEqual(r.status, 0, "kvitto \(args.joined(separator: " ")): \(r.stderr)")
    }

    /// Attempts begun (`message.dispatched`) without an outcome event: cut off by a kill.
    static func interrupted(_ events: [Event]) -> Int {
        func key(_ e: Event) -> String { "\(e.payload["as4_message_id"]?.stringValue ?? "")#\(e.payload["attempt"]?.intValue ?? -1)" }
        let outcomes = Set(events.filter { ["transport.receipt.received", "transport.error.received", "transport.attempt.failed"].contains($0.type) }.map(key))
        return events.filter { $0.type == "message.dispatched" && !outcomes.contains(key($0)) }.count
    }

    static func snapshot(_ node: String) throws -> NodeProjection {
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: node + "/ledger", options: options)
        defer { ledger.close() }
        return try Projector(ledger: ledger).snapshot()
    }

    static func events(_ node: String) throws -> [Event] {
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: node + "/ledger", options: options)
        defer { ledger.close() }
        var out: [Event] = []
        while true {
            let page = try ledger.events(from: UInt64(out.count) + 1, limit: 2000)
            if page.isEmpty { return out }
            out += page
        }
    }

    static func tail(_ path: String) -> String {
        String((try? String(contentsOfFile: path, encoding: .utf8))?.suffix(1500) ?? "")
    }

    /// A `kvitto serve` child process.
    struct Server {
        let process = Process()

        init(node: String, log: String, logLevel: String = "warning") throws {
            let portFile = node + "/serve.port"
            try? FileManager.default.removeItem(atPath: portFile)
            process.executableURL = URL(fileURLWithPath: KvittoProcess.binary)
            process.arguments = ["serve", "--node", node, "--log-level", logLevel, "--port-file", portFile]
            if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: portFile) {
                guard Date() < deadline, process.isRunning else { throw CLIFailure("kvitto serve --node \(node) did not start: \(NodeCrashTests.tail(log))") }
                usleep(20_000)
            }
        }

        func kill() {
            guard process.isRunning else { return }
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// SIGTERM and wait (bounded); true when it exited 0.
        func stop() -> Bool {
            guard process.isRunning else { return false }
            process.terminate()
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(); return false }
            return process.terminationStatus == 0
        }
    }

    struct CLIFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
