import ArgumentParser
import Crypto
import Foundation
import Ledger
import Logging
import Node
import Projections
import Synchronization
import Transport

/// `kvitto bench node`: business messages end to end between two nodes on this machine (HTTPS
/// with mutual TLS, every step a durable signed ledger event on both sides), next to bare AS4
/// exchanges of the same XHE at the same concurrency, the same message between two participants
/// of one node (internal delivery), and the RSA-bound limit, all measured in the same run.
struct NodeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "End-to-end business messages/s between two nodes (submit → AS4 receipt → Meddelandekvittens) vs bare AS4 and the RSA limit.")

    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Seconds of load per measured case.") var seconds: Double = 5
    @Option(help: "Messages kept in flight.") var window = 32
    @Option(help: "Directory for the two nodes, kept afterwards (default: a temporary one, removed); choose the file system to measure.")
    var dir: String?
    @Option(help: "A soak instead of the timed case: this many messages, reported per --step (throughput, p99, RSS, open files).")
    var messages: Int?
    @Option(help: "Messages per soak step.") var step = 10_000

    /// RSA-2048 private-key operations per business message: the sender signs the XHE and the AS4
    /// message; the recipient unwraps the AS4 key, signs the AS4 receipt, unwraps the XHE key, signs
    /// the Meddelandekvittens XHE and its AS4 message; the sender unwraps that AS4 key, signs its
    /// AS4 receipt and unwraps the XHE key.
    static let rsaOpsPerMessage = 10.0
    /// Per message delivered inside one node: the sender signs the XHE, the recipient unwraps its
    /// key and signs the Meddelandekvittens XHE, the sender unwraps that one's key.
    static let rsaOpsPerInternalMessage = 4.0
    /// Per bare AS4 exchange: sign, unwrap, receipt signature.
    static let rsaOpsPerExchange = 3.0

    func run() async throws {
        var printer = BenchPrinter(json: json)
        var logger = Logger(label: "kvitto.bench")
        logger.logLevel = .error
        let base = dir ?? NSTemporaryDirectory() + "kvitto-bench-node-\(UUID().uuidString.prefix(8))"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: base) } }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (dirA, dirB) = try await NodeCLI.run { try await DemoNetwork.create(in: base) }
        let nodeA = try await NodeCLI.run { try Node.open(directory: dirA, logger: logger) }
        let nodeB = try await NodeCLI.run { try Node.open(directory: dirB, logger: logger) }
        let rsaLimit = try await RSALimit.measure(seconds: min(seconds, 2))
        let rsa = rsaLimit.perSecond
        let message = OutboundMessage(from: .init(participant: DemoNetwork.a.participant, function: DemoNetwork.a.function),
                                      to: .init(participant: DemoNetwork.b.participant, function: DemoNetwork.b.function),
                                      label: "Benchmark", texts: ["Hej! Ett meddelande för mätning."],
                                      attachments: [.init(fileName: "bilaga.txt", contentType: "text/plain",
                                                          content: Array(repeating: 0x61, count: 1024))])
        let window = self.window, seconds = self.seconds
        if let messages {
            try await soak(nodeA, nodeB, message: message, messages: messages, rsa: rsaLimit, printer: &printer)
            await nodeA.close()
            await nodeB.close()
            return
        }
        let result = try await DemoNetwork.running([nodeA, nodeB]) { _ in
            try await Self.load(nodeA, nodeB, message: message, window: 4, seconds: 0.5)  // warm up
            let before = (a: nodeA.ledgerStatistics, b: nodeB.ledgerStatistics)
            let commitsBefore = nodeA.ledger.commitStatistics.transactions + nodeB.ledger.commitStatistics.transactions
            let foldsBefore = nodeA.projections.catchUpTransactions + nodeB.projections.catchUpTransactions
            let run = try await Self.load(nodeA, nodeB, message: message, window: window, seconds: seconds)
            let after = (a: nodeA.ledgerStatistics, b: nodeB.ledgerStatistics)
            let commits = nodeA.ledger.commitStatistics.transactions + nodeB.ledger.commitStatistics.transactions - commitsBefore
            let folds = nodeA.projections.catchUpTransactions + nodeB.projections.catchUpTransactions - foldsBefore
            return (run, before, after, commits, folds)
        }
        let (run, before, after, commits, folds) = result
        // A sample XHE of the same message, for the bare AS4 case.
        let xheRef = try XCTUnwrapLike(try nodeA.snapshot().messages.values.first?.xhe)
        let xhe = try nodeA.ledger.blobs.read(xheRef.sha256)
        await nodeA.close()
        await nodeB.close()
        // The same message between two participants of one node (no AS4 hop).
        let internalDir = base + "/node-internal"
        var options = NodeSetup.Options(name: "internal", participants: [
            .init(id: DemoNetwork.a.participant, name: DemoNetwork.a.name, functions: [(DemoNetwork.a.function, DemoNetwork.a.functionName)]),
            .init(id: DemoNetwork.b.participant, name: DemoNetwork.b.name, functions: [(DemoNetwork.b.function, DemoNetwork.b.functionName)]),
        ])
        options.port = try await DemoNetwork.freePorts(1)[0]
        _ = try await NodeCLI.run { try await NodeSetup.initialize(directory: internalDir, options: options) }
        let nodeI = try await NodeCLI.run { try Node.open(directory: internalDir, logger: logger) }
        let inside = try await DemoNetwork.running([nodeI]) { _ in
            try await Self.load(nodeI, nodeI, message: message, window: 4, seconds: 0.5)  // warm up
            return try await Self.load(nodeI, nodeI, message: message, window: window, seconds: seconds)
        }
        await nodeI.close()
        let as4 = try await Self.bareAS4(xhe: xhe, window: window, seconds: seconds)

        let events = Double((after.a.events - before.a.events) + (after.b.events - before.b.events))
        let wait = (after.a.waitSeconds - before.a.waitSeconds) + (after.b.waitSeconds - before.b.waitSeconds)
        let appends = Double((after.a.appends - before.a.appends) + (after.b.appends - before.b.appends))
        let perMessage = run.completed > 0 ? events / Double(run.completed) : 0
        printer.emit(BenchResult(
            name: "node e2e (submit → AS4 receipt → Meddelandekvittens), 2 nodes, mTLS, window \(window)", value: run.rate,
            unit: "messages/s", limit: rsa / Self.rsaOpsPerMessage,
            limitWhat: "RSA-2048 private ops/s on all cores (fastest library here) ÷ 10 per business message",
            extra: rsaLimit.extra.merging(
                ["messages": .int(Int64(run.completed)), "p50_ms": .string(format(run.p50 * 1000, digits: 1)),
                 "p99_ms": .string(format(run.p99 * 1000, digits: 1)),
                 "ledger_events_per_message": .string(format(perMessage, digits: 1)),
                 "ledger_events_per_s": .int(Int64(events / run.elapsed)),
                 // Durable commits of both nodes' ledgers (each two flushes), and the events each carried.
                 "ledger_commits_per_s": .int(Int64(Double(commits) / run.elapsed)),
                 "ledger_commit_delay_ms": .string(format(nodeA.ledger.options.commitDelay * 1000, digits: 1)),
                 "ledger_events_per_commit": .string(format(commits > 0 ? events / Double(commits) : 0, digits: 1)),
                 // Write transactions folding those events into the projections (not flushed).
                 "projection_commits_per_s": .int(Int64(Double(folds) / run.elapsed))]) { $1 }))
        printer.emit(BenchResult(
            name: "node internal delivery (two participants of one node, no AS4 hop: seal → open → Meddelandekvittens → open), window \(window)",
            value: inside.rate, unit: "messages/s", limit: rsa / Self.rsaOpsPerInternalMessage,
            limitWhat: "RSA-2048 private ops/s on all cores (fastest library here) ÷ 4 per message delivered inside the node",
            extra: ["messages": .int(Int64(inside.completed)), "p50_ms": .string(format(inside.p50 * 1000, digits: 1)),
                    "p99_ms": .string(format(inside.p99 * 1000, digits: 1)),
                    "two_node_messages_per_s": .string(format(run.rate, digits: 1)),
                    "ratio_to_two_node": .string(format(run.rate > 0 ? inside.rate / run.rate : 0, digits: 2))]))
        printer.emit(BenchResult(
            name: "as4 exchange of the same XHE (sign, gzip, encrypt, receipt), window \(window)", value: as4,
            unit: "exchanges/s", limit: rsa / Self.rsaOpsPerExchange,
            limitWhat: "RSA-2048 private ops/s on all cores (fastest library here) ÷ 3 per exchange",
            extra: ["xhe_bytes": .int(Int64(xhe.count))]))
        // A business message is two AS4 exchanges plus the XHE and ledger work: how much of the
        // bare transport rate the whole node keeps, and how long appends kept workers waiting.
        printer.emit(BenchResult(
            name: "node vs bare AS4 (2 exchanges per business message)", value: run.rate, unit: "messages/s", limit: as4 / 2,
            limitWhat: "half the bare AS4 exchanges/s measured in this run",
            extra: ["ledger_wait_ms_per_append": .string(format(appends > 0 ? wait / appends * 1000 : 0, digits: 2)),
                    "ledger_wait_share_of_message_latency": .string(format(run.completed > 0 ? (wait / Double(run.completed)) / max(run.p50, 1e-9) : 0, digits: 3))]))
    }

    struct Run {
        var completed: Int
        var elapsed: Double
        var rate: Double { Double(completed) / elapsed }
        var p50: Double
        var p99: Double
    }

    /// The soak: `messages` in steps of `step`, each step's throughput and p99 with the process's
    /// resident memory and open files after it; then the last step against the first.
    func soak(_ a: Node, _ b: Node, message: OutboundMessage, messages: Int, rsa: RSALimit, printer: inout BenchPrinter) async throws {
        let step = max(1, min(self.step, messages)), window = self.window
        let steps = try await DemoNetwork.running([a, b]) { _ in
            try await Self.load(a, b, message: message, window: 4, seconds: 0.5)  // warm up
            var steps: [(run: Run, rss: Int, anon: Int, files: Int)] = []
            var done = 0
            while done < messages {
                let count = min(step, messages - done)
                let run = try await Self.load(a, b, message: message, window: window, seconds: .infinity, count: count)
                // RssAnon is the process's own memory; the rest is mostly LMDB's mapped files.
                steps.append((run, XMLBench.residentBytes(field: "VmRSS:"), XMLBench.residentBytes(field: "RssAnon:"), Self.openFiles()))
                done += count
            }
            return steps
        }
        var done = 0
        for (i, s) in steps.enumerated() {
            printer.emit(BenchResult(
                name: "node soak step \(i + 1): messages \(done + 1)–\(done + s.run.completed), window \(window)", value: s.run.rate,
                unit: "messages/s", limit: rsa.perSecond / Self.rsaOpsPerMessage,
                limitWhat: "RSA-2048 private ops/s on all cores (fastest library here) ÷ 10 per business message",
                extra: ["p50_ms": .string(format(s.run.p50 * 1000, digits: 1)), "p99_ms": .string(format(s.run.p99 * 1000, digits: 1)),
                        "rss_bytes": .int(Int64(s.rss)), "rss_anon_bytes": .int(Int64(s.anon)), "open_files": .int(Int64(s.files))]))
            done += s.run.completed
        }
        guard let first = steps.first, let last = steps.last else { return }
        printer.emit(BenchResult(
            name: "node soak: last step vs first (\(done) messages)", value: last.run.rate, unit: "messages/s", limit: first.run.rate,
            limitWhat: "the first step's rate (goal: within 20%, p99 too; RSS and open files flat)",
            extra: ["p99_ratio_last_first": .string(format(first.run.p99 > 0 ? last.run.p99 / first.run.p99 : 0, digits: 3)),
                    "rss_growth_bytes": .int(Int64(last.rss - first.rss)), "rss_anon_growth_bytes": .int(Int64(last.anon - first.anon)),
                    "open_files_growth": .int(Int64(last.files - first.files))]))
    }

    /// Entries in /proc/self/fd: the process's open files and sockets.
    static func openFiles() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// `window` closed-loop senders for `seconds` (or until `count` messages have been submitted):
    /// each submits a message and waits until the sender has its Meddelandekvittens (see
    /// ``Completions``), then submits the next.
    @discardableResult
    static func load(_ a: Node, _ b: Node, message: OutboundMessage, window: Int, seconds: Double, count: Int? = nil) async throws -> Run {
        let start = Date()
        let tickets = Tickets(count ?? Int.max)
        let completions = Completions(node: a)
        let from = try a.ledger.durableHead()
        let latencies = try await withThrowingTaskGroup(of: [Double]?.self) { group in
            group.addTask { try await completions.follow(from: from); return nil }
            group.addTask { try await completions.expire(); return nil }
            for _ in 0..<window {
                group.addTask {
                    var mine: [Double] = []
                    while Date().timeIntervalSince(start) < seconds,
                          tickets.take() {
                        let t0 = Date()
                        let id = try await NodeCLI.run { try await a.submit(message, actor: "bench") }
                        try await completions.wait(for: id, deadline: t0.addingTimeInterval(120))
                        mine.append(Date().timeIntervalSince(t0))
                    }
                    return mine
                }
            }
            // The senders' results; then the follower and the deadline watch are stopped.
            var all: [Double] = []
            var senders = window
            while senders > 0, let result = try await group.next() {
                if let result {
                    all += result
                    senders -= 1
                }
            }
            group.cancelAll()
            return all.sorted()
        }
        func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Run(completed: latencies.count, elapsed: Date().timeIntervalSince(start), p50: pct(0.5), p99: pct(0.99))
    }

    /// Bare AS4 exchanges (two MSHs in this process, mutual TLS) of `xhe`, `window` at a time.
    static func bareAS4(xhe: [UInt8], window: Int, seconds: Double) async throws -> Double {
        let pki = try ThrowawayPKI(commonName: "Bench AS4 CA")
        let sender = try pki.issue(commonName: "AP-SENDER"), receiver = try pki.issue(commonName: "AP-RECEIVER")
        let senderTLS = try pki.issue(commonName: "sender.bench")
        let receiverTLS = try pki.issue(commonName: "receiver.bench", dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]])
        let endpoint = AS4Endpoint(opener: AS4Opener(identity: receiver, trust: pki.trust(.as4), pmode: .sdk()),
                                   sealer: AS4Sealer(pmode: .sdk(), signer: receiver), delivery: AS4Bench.Sink(), duplicates: nil)
        let server = AS4Server(tls: AS4TLS(identity: receiverTLS, trustAnchors: [pki.root]), endpoint: endpoint)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let serverTask = Task { try await server.run { continuation.yield($0) } }
        defer { serverTask.cancel() }
        var ports = stream.makeAsyncIterator()
        guard let port = await ports.next() else { throw CLI.fail("bench: the AS4 server did not start") }
        let client = try AS4HTTPClient(tls: AS4TLS(identity: senderTLS, trustAnchors: [pki.root]))
        let sealer = AS4Sealer(pmode: .sdk(), signer: sender)
        let verifier = AS4ResponseVerifier(expectedSigner: receiver.certificate, trust: nil)
        let url = "https://127.0.0.1:\(port)/as4"
        let rate = try await AS4Bench.concurrent(window: window, seconds: seconds, payload: Spool(bytes: xhe), mimeType: "application/xml",
                                                 sealer: sealer, client: client, url: url, receiver: receiver, verifier: verifier)
        try await client.shutdown()
        return rate
    }
}

/// Messages left to submit, shared by the senders of a counted load.
final class Tickets: Sendable {
    private let left: Mutex<Int>
    init(_ count: Int) { left = Mutex(count) }
    /// True when a message may be submitted (one fewer left).
    func take() -> Bool {
        left.withLock { n in
            guard n > 0 else { return false }
            n -= 1
            return true
        }
    }
}

/// Unwraps or fails the benchmark with a clear message.
func XCTUnwrapLike<T>(_ value: T?) throws -> T {
    guard let value else { throw CLI.fail("bench: expected a value") }
    return value
}
