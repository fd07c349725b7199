import API
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Identity
import Ledger
import Logging
import NIOCore
import NIOSSL
import Node
import Projections
import Synchronization
import Workload

#if canImport(Glibc)
import Glibc
#endif

/// `kvitto bench streams`: the event stream (`GET /v1/events`, HTTPS on 127.0.0.1) of a node
/// whose ledger holds a synthetic burst: events delivered per second to 1, 100 and 1,000
/// subscribers reading it from the start, next to the raw LMDB read of the ledger's records in
/// the same run; the latency from an append to its receipt by each of 100 live subscribers; and
/// the append rate with one subscriber that never reads, next to the rate with none.
struct StreamsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "SSE delivery to 1/100/1,000 subscribers vs the raw ledger read, append-to-receipt latency at 100 subscribers, append rate with a stalled subscriber.")

    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Ledger events in the burst the subscribers read.") var events = 10_000
    @Option(help: "Subscriber counts for the delivery cases (comma-separated).") var fanout = "1,100,1000"
    @Option(help: "Events appended while 100 subscribers measure latency.") var latencyEvents = 2_000
    @Option(help: "Directory for the node (default: a temporary one, removed).") var dir: String?

    /// The case system reading participant A's mailboxes (a read grant on the participant).
    static let reader = PrincipalName(kind: .pnr, value: "197001011234")
    static let participant = DemoNetwork.a.participant

    func run() async throws {
        var printer = BenchPrinter(json: json)
        let counts = fanout.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ (1...5000).contains($0) }) else { throw CLI.fail("--fanout: subscriber counts from 1 to 5000") }
        var logger = Logger(label: "kvitto.bench")
        logger.logLevel = .error
        let base = dir ?? NSTemporaryDirectory() + "kvitto-bench-streams-\(UUID().uuidString.prefix(8))"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: base) } }
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        var settings = DemoNetwork.Settings()
        settings.developmentIssuer = true
        _ = try await NodeCLI.run { try await DemoNetwork.create(in: base, settings: settings) }
        let nodeDir = base + "/node-a"
        let node = try await NodeCLI.run { try Node.open(directory: nodeDir, logger: logger) }
        do {
            try await measure(node, nodeDir: nodeDir, counts: counts, logger: logger, printer: &printer)
        } catch {
            await node.close()
            throw error
        }
        await node.close()
    }

    private func measure(_ node: Node, nodeDir: String, counts: [Int], logger: Logger, printer: inout BenchPrinter) async throws {
        let ledger = node.ledger
        // The API runs while the burst is appended, so its feed prepares the events as they come
        // (as on a node in service); the subscribers then read them from its window.
        var server = try Self.configuredServer(APIServer.configured(for: node, port: 0, logger: logger))
        server.logger = logger
        server.streamsPerCaller = 6000
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let serving = Task { [server] in try await server.run { continuation.yield($0) } }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw CLI.fail("bench: the API did not start") }
        let tls = try QueryBench.tls(nodeDir: nodeDir)
        let config = try NodeConfig.load(directory: nodeDir)
        let issuer = try NodeIdentity.developmentIssuer(config: config, directory: nodeDir)
        let token = try await issuer.mint(subject: "bench", claims: [issuer.trust.claimNames.pnrClaim: .string(Self.reader.value)], lifetime: 3600)
        var clientConfig = HTTPClient.Configuration(tlsConfiguration: tls.client)
        clientConfig.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 6000)
        clientConfig.timeout = .init(connect: .seconds(120))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
        do {
            let functions = [DemoNetwork.a.function, "ekonomi", "registrator"]
            var history = SyntheticHistory(.init(participant: Self.participant, functions: functions, seed: 3))
            var setup = history.addressBook()
            setup.append(Grant.draft(.init(grantee: Self.reader, scope: .participant(Self.participant), rights: [.read], reason: "kvitto bench streams"),
                                     actor: "os:bench"))
            let start = try await ledger.append(setup).last!.seq
            var appended = 0
            while appended < events {
                let e = try await ledger.append(history.next(min(512, events - appended)))
                history.appended(e)
                appended += e.count
            }
            _ = try node.projections.catchUp()
            let end = try ledger.durableHead()
            // What the reader may see: the public events of participant A's messages.
            let visible = try Self.visible(node, (start + 1)...end)
            let raw = try [PhysicalLimits.lmdbCursorRead(ledger), PhysicalLimits.lmdbCursorRead(ledger)]
                .max { $0.recordsPerSecond < $1.recordsPerSecond }!
            Self.note("burst: \(end - start) events, \(visible.count) visible to the reader; raw read \(format(raw.recordsPerSecond)) records/s")

            // Warm-up (not measured): one subscriber reads the whole burst, so the feed has it.
            _ = try await Self.read(client, port: port, token: token, after: start, frames: visible.count)
            // Delivery: n subscribers read the burst from its start.
            for n in counts {
                // The n connections (TLS handshakes) are made first, outside the measurement.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<n {
                        group.addTask {
                            let r = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/health/live"), timeout: .seconds(300))
                            _ = try await r.body.collect(upTo: 1 << 16)
                        }
                    }
                    try await group.waitForAll()
                }
                let t0 = DispatchTime.now().uptimeNanoseconds
                let bytes = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<n {
                        group.addTask {
                            try await Self.read(client, port: port, token: token, after: start, frames: visible.count)
                        }
                    }
                    return try await group.reduce(0, +)
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                let delivered = Double(n * visible.count)
                printer.emit(BenchResult(name: "SSE delivery to \(n) subscriber\(n == 1 ? "" : "s") (HTTPS)", value: delivered / seconds,
                                         unit: "events/s", limit: raw.recordsPerSecond, limitWhat: "raw LMDB cursor read of ledger records/s",
                                         extra: ["events_each": .int(Int64(visible.count)), "seconds": .string(format(seconds, digits: 3)),
                                                 "mb_per_s": .string(format(Double(bytes) / seconds / 1e6))]))
            }

            // Latency: 100 live subscribers; events appended in small batches.
            let latency = try await Self.latency(node, history: &history, client: client, port: port, token: token,
                                                 subscribers: 100, events: latencyEvents)
            printer.emit(BenchResult(name: "append to receipt, 100 live subscribers", value: latency.p99, unit: "ms p99",
                                     limit: 50, limitWhat: "issue goal: p99 < 50 ms", lowerIsBetter: true,
                                     extra: ["p50_ms": .string(format(latency.p50, digits: 3)), "samples": .int(Int64(latency.samples)),
                                             "append_p99_ms": .string(format(latency.appendP99, digits: 3))]))

            // A subscriber that never reads must not slow the appends.
            let alone = try await Self.appendRate(ledger, history: &history, events: events)
            var stalled = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/events?after=\(start)")
            stalled.headers.add(name: "Authorization", value: "Bearer " + token)
            let response = try await client.execute(stalled, timeout: .seconds(600))
            let withStalled = try await Self.appendRate(ledger, history: &history, events: events)
            _ = response  // never read
            printer.emit(BenchResult(name: "append rate with one stalled subscriber", value: withStalled, unit: "events/s",
                                     limit: alone, limitWhat: "append rate with no subscriber, same run (goal ≥ 0.95)"))
        } catch {
            try? await client.shutdown()
            serving.cancel()
            _ = await serving.result
            await server.verifier.shutdown()
            throw error
        }
        try? await client.shutdown()
        serving.cancel()
        _ = await serving.result
        await server.verifier.shutdown()
    }

    static func note(_ s: String) { FileHandleOutput.stderr(s + "\n") }

    private static func configuredServer(_ server: APIServer?) throws -> APIServer {
        guard let server else { throw CLI.fail("bench: the node has no API configured") }
        return server
    }

    /// The seqs in `range` of the public events of participant A's messages (each one of its
    /// message's folded events).
    static func visible(_ node: Node, _ range: ClosedRange<UInt64>) throws -> [UInt64] {
        var out: [UInt64] = []
        var from = range.lowerBound
        while from <= range.upperBound {
            let page = try node.ledger.events(from: from, limit: 1024)
            guard let last = page.last else { break }
            for e in page where e.seq <= range.upperBound && PublicEventType(e) != nil && e.subject.hasPrefix("message:") {
                if let r = try NodeStateProjection.message(String(e.subject.dropFirst(8)), in: node.projections.storage),
                   r.participant == participant, r.eventSeqs.contains(e.seq) {
                    out.append(e.seq)
                }
            }
            from = last.seq + 1
        }
        return out
    }

    /// One subscriber reading from `after` until it has `frames` event frames; the bytes read.
    static func read(_ client: HTTPClient, port: Int, token: String, after: UInt64, frames: Int) async throws -> Int {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/events?after=\(after)&heartbeat=60")
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        let response = try await client.execute(request, timeout: .seconds(600))
        guard response.status == .ok else { throw CLI.fail("bench: the stream answered \(response.status.code)") }
        // Event frames only (heartbeats and the opening comment carry no event line).
        var events = 0, bytes = 0
        var carry: (line: [UInt8], id: UInt64?) = ([], nil)
        for try await chunk in response.body {
            bytes += chunk.readableBytes
            events += chunk.withUnsafeReadableBytes { SSEScan.eventIDs($0, carry: &carry).count }
            if events >= frames { return bytes }
        }
        throw CLI.fail("bench: a stream ended after \(events) of \(frames) events")
    }

    /// Appends `events` events in batches of 100, one after another; events/s.
    static func appendRate(_ ledger: Ledger, history: inout SyntheticHistory, events: Int) async throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var appended = 0
        while appended < events {
            let e = try await ledger.append(history.next(100))
            history.appended(e)
            appended += e.count
        }
        return Double(appended) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }

    /// `subscribers` live streams from the head; `events` events appended in batches of 10 every
    /// 5 ms; for every visible event and subscriber, the time from the start of its append to
    /// its receipt.
    static func latency(_ node: Node, history: inout SyntheticHistory, client: HTTPClient, port: Int, token: String,
                        subscribers: Int, events: Int) async throws -> (p50: Double, p99: Double, samples: Int, appendP99: Double) {
        let head = try node.ledger.durableHead()
        let log = ReceiptLog()
        let readers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<subscribers {
                    group.addTask {
                        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/events?after=\(head)&heartbeat=60")
                        request.headers.add(name: "Authorization", value: "Bearer " + token)
                        let response = try await client.execute(request, timeout: .seconds(600))
                        log.opened.withLock { $0 += 1 }
                        var carry: (line: [UInt8], id: UInt64?) = ([], nil)
                        for try await chunk in response.body {
                            let now = DispatchTime.now().uptimeNanoseconds
                            let ids = chunk.withUnsafeReadableBytes { SSEScan.eventIDs($0, carry: &carry) }
                            if !ids.isEmpty { log.received.withLock { r in for id in ids { r[id, default: []].append(now) } } }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while log.opened.withLock({ $0 }) < subscribers, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        var started: [UInt64: UInt64] = [:]
        var appendTimes: [Double] = []
        var appended = 0
        while appended < events {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let e = try await node.ledger.append(history.next(10))
            appendTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            history.appended(e)
            for x in e { started[x.seq] = t0 }
            appended += e.count
            try await Task.sleep(for: .milliseconds(5))
        }
        _ = try node.projections.catchUp()
        let expected = try visible(node, (head + 1)...(try node.ledger.durableHead()))
        // Wait (bounded) until every subscriber has every visible event.
        let wait = Date().addingTimeInterval(60)
        while Date() < wait {
            let done = log.received.withLock { r in expected.allSatisfy { (r[$0]?.count ?? 0) >= subscribers } }
            if done { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        readers.cancel()
        var samples: [Double] = []
        log.received.withLock { r in
            for seq in expected {
                guard let t0 = started[seq] else { continue }
                for t in r[seq] ?? [] { samples.append(Double(t - t0) / 1e6) }
            }
        }
        guard samples.count >= expected.count * subscribers else {
            throw CLI.fail("bench: \(samples.count) of \(expected.count * subscribers) deliveries arrived within 60 s")
        }
        samples.sort()
        appendTimes.sort()
        func p(_ xs: [Double], _ q: Double) -> Double { xs.isEmpty ? 0 : xs[min(xs.count - 1, Int(Double(xs.count) * q))] }
        return (p(samples, 0.5), p(samples, 0.99), samples.count, p(appendTimes, 0.99))
    }

    /// What the latency subscribers saw: receipt times (uptime ns) by seq, and how many are connected.
    final class ReceiptLog: Sendable {
        let received = Mutex<[UInt64: [UInt64]]>([:])
        let opened = Mutex(0)
    }
}
