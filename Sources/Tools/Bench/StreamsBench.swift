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
    /// The operator, who reads the metrics (the streams still open between the cases).
    static let operatorName = PrincipalName(kind: .pnr, value: "195001011234")
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
        let operatorToken = try await issuer.mint(subject: "bench-operator", claims: [issuer.trust.claimNames.pnrClaim: .string(Self.operatorName.value)],
                                                  lifetime: 3600)
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
            setup.append(Grant.draft(.init(grantee: Self.operatorName, scope: .node, rights: [.operate], reason: "kvitto bench streams"),
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

            // Warm-up (not measured): one subscriber reads the whole burst, so the feed has it; its
            // bytes are what the bare server below sends.
            let burst = try await Self.withClient(clientConfig) { client in
                var burst = ByteBuffer()
                _ = try await Self.read(client, port: port, path: "/v1/events?after=\(start)&heartbeat=60", token: token,
                                        frames: visible.count, keep: &burst)
                return burst
            }
            // The limit of HTTPS delivery itself: the same bytes, the same TLS identity and the same
            // client, from a handler that writes the prepared burst and does nothing else.
            let bare = try await BareStream.start(burst, tls: tls.server, logger: logger)
            defer { bare.stop() }
            // Delivery: n subscribers read the burst from its start.
            for n in counts {
                // The previous case's streams are gone before this one starts.
                try await Self.waitUntilNoStreams(client, port: port, token: operatorToken)
                let plural = n == 1 ? "" : "s"
                let limitWhat = "raw LMDB cursor read of ledger records/s"
                let frames = visible.count
                // Each case has its own client, shut down after it (so its connections close and
                // the node ends their streams); the n connections (TLS handshakes) are made first,
                // outside the measurement.
                let bareRun = try await Self.withClient(clientConfig) { client in
                    try await Self.connect(client, n, port: bare.port, path: BareStream.livePath)
                    return try await Self.deliver(n, frames: frames) {
                        try await Self.read(client, port: bare.port, path: BareStream.path, token: nil, frames: frames)
                    }
                }
                printer.emit(BenchResult(name: "bare HTTPS delivery of the same bytes to \(n) subscriber\(plural)", value: bareRun.eventsPerSecond,
                                         unit: "events/s", limit: raw.recordsPerSecond, limitWhat: limitWhat,
                                         extra: ["seconds": .string(format(bareRun.seconds, digits: 3)), "mb_per_s": .string(format(bareRun.mbPerSecond))]))
                let run = try await Self.withClient(clientConfig) { client in
                    try await Self.connect(client, n, port: port, path: "/health/live")
                    return try await Self.deliver(n, frames: frames) {
                        try await Self.read(client, port: port, path: "/v1/events?after=\(start)&heartbeat=60", token: token, frames: frames)
                    }
                }
                printer.emit(BenchResult(name: "SSE delivery to \(n) subscriber\(plural) (HTTPS)", value: run.eventsPerSecond,
                                         unit: "events/s", limit: raw.recordsPerSecond, limitWhat: limitWhat,
                                         extra: ["events_each": .int(Int64(frames)), "seconds": .string(format(run.seconds, digits: 3)),
                                                 "mb_per_s": .string(format(run.mbPerSecond)),
                                                 "of_bare": .string(format(run.eventsPerSecond / bareRun.eventsPerSecond, digits: 3))]))
            }

            // The delivery cases' streams are closed by now (their clients shut down); each case
            // below starts once the node has let them all go, so they share nothing.
            try await Self.waitUntilNoStreams(client, port: port, token: operatorToken)
            // Latency: 100 live subscribers; events appended in small batches.
            let latency = try await Self.withClient(clientConfig) { client in
                try await Self.latency(node, history: &history, client: client, port: port, token: token,
                                       subscribers: 100, events: latencyEvents)
            }
            printer.emit(BenchResult(name: "append to receipt, 100 live subscribers", value: latency.p99, unit: "ms p99",
                                     limit: 50, limitWhat: "issue goal: p99 < 50 ms", lowerIsBetter: true,
                                     extra: ["p50_ms": .string(format(latency.p50, digits: 3)), "samples": .int(Int64(latency.samples)),
                                             "append_p99_ms": .string(format(latency.appendP99, digits: 3))]))

            // A subscriber that never reads must not slow the appends. The append rate is the
            // disk's (a commit waits for fsync), which drifts between seconds on this machine:
            // three rounds of each, alternating, and the best of each.
            var alone: [Double] = [], withStalled: [Double] = []
            for _ in 0..<3 {
                try await Self.waitUntilNoStreams(client, port: port, token: operatorToken)
                alone.append(try await Self.appendRate(ledger, history: &history, events: events))
                withStalled.append(try await Self.withClient(clientConfig) { client in
                    var stalled = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/events?after=\(start)")
                    stalled.headers.add(name: "Authorization", value: "Bearer " + token)
                    let response = try await client.execute(stalled, timeout: .seconds(600))
                    let rate = try await Self.appendRate(ledger, history: &history, events: events)
                    _ = response  // never read
                    return rate
                })
            }
            printer.emit(BenchResult(name: "append rate with one stalled subscriber", value: withStalled.max()!, unit: "events/s",
                                     limit: alone.max()!, limitWhat: "append rate with no subscriber, same run (goal ≥ 0.95)",
                                     extra: ["rounds_alone": .string(alone.map { format($0) }.joined(separator: " ")),
                                             "rounds_stalled": .string(withStalled.map { format($0) }.joined(separator: " "))]))
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

    /// `body` with a client of its own, shut down after it (AsyncHTTPClient closes a connection
    /// whose streamed response was left unread only when more of it arrives; shutting the client
    /// down closes them all).
    static func withClient<T: Sendable>(_ configuration: HTTPClient.Configuration, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result<T, any Error>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        try? await client.shutdown()
        return try result.get()
    }

    /// Waits (at most 30 s) until the node holds no event stream open.
    static func waitUntilNoStreams(_ client: HTTPClient, port: Int, token: String) async throws {
        let wait = Date().addingTimeInterval(30)
        var open = try await openStreams(client, port: port, token: token)
        while open > 0, Date() < wait {
            try await Task.sleep(for: .milliseconds(50))
            open = try await openStreams(client, port: port, token: token)
        }
        if open > 0 { note("bench: \(open) event streams still open after 30 s") }
    }

    /// The node's `kvitto_event_streams_open` metric.
    static func openStreams(_ client: HTTPClient, port: Int, token: String) async throws -> Int {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/metrics")
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        let response = try await client.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("kvitto_event_streams_open ") }),
              let value = Double(line.split(separator: " ").last ?? "") else {
            throw CLI.fail("bench: /metrics answered \(response.status.code) without kvitto_event_streams_open")
        }
        return Int(value)
    }

    /// Opens `n` connections to `port` (each answering one GET `path`), kept by the client's pool.
    static func connect(_ client: HTTPClient, _ n: Int, port: Int, path: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<n {
                group.addTask {
                    let r = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path), timeout: .seconds(300))
                    _ = try await r.body.collect(upTo: 1 << 16)
                }
            }
            try await group.waitForAll()
        }
    }

    /// What `n` subscribers, each running `read` at once, received: events/s and MB/s over all.
    static func deliver(_ n: Int, frames: Int, _ read: @escaping @Sendable () async throws -> Int) async throws
        -> (eventsPerSecond: Double, mbPerSecond: Double, seconds: Double) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let bytes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<n { group.addTask { try await read() } }
            return try await group.reduce(0, +)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return (Double(n * frames) / seconds, Double(bytes) / seconds / 1e6, seconds)
    }

    /// One subscriber reading `path` until it has `frames` event frames; the bytes read.
    static func read(_ client: HTTPClient, port: Int, path: String, token: String?, frames: Int) async throws -> Int {
        var ignored: ByteBuffer? = nil
        return try await read(client, port: port, path: path, token: token, frames: frames, keeping: &ignored)
    }

    /// As ``read(_:port:path:token:frames:)``, keeping the bytes read in `keep`.
    static func read(_ client: HTTPClient, port: Int, path: String, token: String?, frames: Int, keep: inout ByteBuffer) async throws -> Int {
        var kept: ByteBuffer? = ByteBuffer()
        let bytes = try await read(client, port: port, path: path, token: token, frames: frames, keeping: &kept)
        keep = kept ?? ByteBuffer()
        return bytes
    }

    private static func read(_ client: HTTPClient, port: Int, path: String, token: String?, frames: Int, keeping: inout ByteBuffer?) async throws -> Int {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        let keep = keeping != nil, prepared = request
        // Bounded: the client's deadline covers the response's head only.
        let (bytes, kept) = try await withThrowingTaskGroup(of: (Int, ByteBuffer?).self) { group in
            group.addTask {
                let response = try await client.execute(prepared, timeout: .seconds(600))
                guard response.status == .ok else { throw CLI.fail("bench: the stream answered \(response.status.code)") }
                // Event frames only (heartbeats and the opening comment carry no event line).
                var events = 0, bytes = 0
                var kept: ByteBuffer? = keep ? ByteBuffer() : nil
                var carry: (line: [UInt8], id: UInt64?) = ([], nil)
                for try await var chunk in response.body {
                    bytes += chunk.readableBytes
                    events += chunk.withUnsafeReadableBytes { SSEScan.eventIDs($0, carry: &carry).count }
                    kept?.writeBuffer(&chunk)
                    if events >= frames { return (bytes, kept) }
                }
                throw CLI.fail("bench: a stream ended after \(events) of \(frames) events")
            }
            group.addTask {
                try await Task.sleep(for: .seconds(600))
                throw CLI.fail("bench: a stream did not deliver its \(frames) events within 600 s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        if keep { keeping = kept }
        return bytes
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
