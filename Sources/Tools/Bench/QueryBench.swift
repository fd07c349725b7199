import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Identity
import HummingbirdTLS
import Ledger
import Logging
import NIOCore
import NIOSSL
import Node
import Projections
import ServiceLifecycle
import Transport
import Workload

#if canImport(Glibc)
import Glibc
#endif

/// `kvitto bench query`: the read side at scale. A node with a synthetic history of `--messages`
/// messages (default 1M, about 6 events each: both directions, attempts, receipts, failures,
/// reads, grants, erasures) is rebuilt, queried in process and over HTTPS, and started as a
/// separate process; every figure is next to what the machine does in the same run.
struct QueryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Projection rebuild vs raw LMDB reads, mailbox/search/trace/audit latency, start-up, memory and HTTP pages/s vs a bare handler, over a history of 1M messages.")

    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Messages in the synthetic history.") var messages = 1_000_000
    @Option(help: "Directory for the node, kept afterwards and reused when it already holds a history of this many messages (default: a temporary one, removed).")
    var dir: String?
    @Option(help: "Queries per in-process case.") var samples = 2000
    @Option(help: "HTTP requests in flight.") var concurrency = 64
    @Option(help: "Seconds of HTTP load per case.") var seconds: Double = 5
    @Option(help: "HTTPS rounds: the bare handler and the API take turns, each --seconds / rounds at a time (the medians are compared).")
    var rounds = 5
    @Flag(help: "Only the HTTPS cases (start-up, memory, pages/s): no rebuild, no in-process queries.") var httpOnly = false

    /// The person reading the mailbox (a read grant is part of the history).
    static let reader = PrincipalName(kind: .pnr, value: "197001011234")
    /// The officer auditing the participant (granted when the queries start, if not yet).
    static let auditor = PrincipalName(kind: .pnr, value: "195001011234")
    static let mailbox = FunctionalAddress(participant: DemoNetwork.a.participant, function: DemoNetwork.a.function)

    func run() async throws {
        var printer = BenchPrinter(json: json)
        var logger = Logger(label: "kvitto.bench")
        logger.logLevel = .error
        let base = dir ?? NSTemporaryDirectory() + "kvitto-bench-query-\(UUID().uuidString.prefix(8))"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: base) } }
        let nodeDir = base + "/node-a"
        let marker = base + "/history-\(messages).json"
        if !FileManager.default.fileExists(atPath: marker) {
            try? FileManager.default.removeItem(atPath: base)
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            var settings = DemoNetwork.Settings()
            settings.developmentIssuer = true
            _ = try await NodeCLI.run { try await DemoNetwork.create(in: base, settings: settings) }
            let t0 = Date()
            let events = try await Self.generate(messages: messages, node: nodeDir)
            let took = Date().timeIntervalSince(t0)
            Self.note("history: \(messages) messages, \(events) events appended in \(format(took, digits: 1)) s")
            try Data("{\"messages\":\(messages),\"events\":\(events)}\n".utf8).write(to: URL(fileURLWithPath: marker))
        }

        if !httpOnly { try await inProcess(nodeDir: nodeDir, logger: logger, printer: &printer) }

        // Over HTTPS: the node as its own process (start-up, memory), then pages/s vs a bare handler.
        for r in try await Self.served(nodeDir: nodeDir, concurrency: concurrency, seconds: seconds, rounds: rounds) { printer.emit(r) }
    }

    /// The rebuild against the raw read, then each query's latency, in this process.
    func inProcess(nodeDir: String, logger: Logger, printer: inout BenchPrinter) async throws {
        // Rebuild from scratch vs the raw read of the same records.
        let node = try await NodeCLI.run { try Node.open(directory: nodeDir, logger: logger) }
        // Twice, keeping the faster: the first pass may find the page cache cold.
        let raw = try [PhysicalLimits.lmdbCursorRead(node.ledger), PhysicalLimits.lmdbCursorRead(node.ledger)]
            .max { $0.recordsPerSecond < $1.recordsPerSecond }!
        // For context: reading the same events as the fold gets them (hash checked, JSON parsed).
        let d0 = DispatchTime.now().uptimeNanoseconds
        var decoded = 0
        while true {
            let page = try node.ledger.events(from: UInt64(decoded) + 1, limit: 1024)
            if page.isEmpty { break }
            decoded += page.count
        }
        let decodeRate = Double(decoded) / (Double(DispatchTime.now().uptimeNanoseconds - d0) / 1e9)
        let t0 = DispatchTime.now().uptimeNanoseconds
        try node.projections.rebuild()
        let rebuildSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        printer.emit(BenchResult(name: "rebuild all projections", value: Double(raw.records) / rebuildSeconds, unit: "events/s",
                                 limit: raw.recordsPerSecond, limitWhat: "raw LMDB cursor read of the same records/s",
                                 extra: ["events": .int(Int64(raw.records)), "seconds": .string(format(rebuildSeconds)),
                                         "decode_only_events_per_s": .string(format(decodeRate)),
                                         "raw_mb_per_s": .string(format(raw.bytesPerSecond / 1e6)), "checksum": .int(Int64(raw.checksum & 0xffff))]))

        // In process: what one query costs, against the raw LMDB read of one page.
        let results = try await Self.queries(node, samples: samples)
        for r in results { printer.emit(r) }
        await node.close()
    }

    static func note(_ s: String) { FileHandleOutput.stderr(s + "\n") }

    // MARK: - History

    /// Appends the address book, the reader's grant and `messages` messages' events from four
    /// interleaved generators (as concurrent writers would); returns the events appended.
    static func generate(messages: Int, node: String, busyReader: String? = nil) async throws -> Int {
        let config = try NodeConfig.load(directory: node)
        let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: node))
        defer { ledger.close() }
        let functions = [mailbox.function, "ekonomi", "registrator"]
        let first = SyntheticHistory(.init(participant: mailbox.participant, functions: functions, seed: 1))
        var setup = first.addressBook()
        setup.append(Grant.draft(.init(grantee: reader, scope: .mailbox(mailbox), rights: [.read], reason: "kvitto bench query"), actor: "os:bench"))
        var total = try await ledger.append(setup).count
        let writers = 4
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<writers {
                group.addTask {
                    var settings = SyntheticHistory.Settings(participant: mailbox.participant, functions: functions, seed: UInt64(w + 1))
                    settings.busyReader = busyReader
                    var h = SyntheticHistory(settings)
                    var appended = 0
                    let share = messages / writers + (w < messages % writers ? 1 : 0)
                    while h.messages < share {
                        let events = try await ledger.append(h.next(512))
                        h.appended(events)
                        appended += events.count
                    }
                    let rest = h.drain()
                    if !rest.isEmpty { appended += try await ledger.append(rest).count }
                    return appended
                }
            }
            return try await group.reduce(0, +)
        }
        total += counts
        return total
    }

    // MARK: - In process

    static func queries(_ node: Node, samples: Int) async throws -> [BenchResult] {
        let me = Principal(name: reader, assurance: .strong, interface: .api)
        let access = node.access
        func time(_ body: () async throws -> Void) async throws -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        }
        // The raw read of one page: index keys and 50 stored rows, nothing decoded.
        var raw: [Double] = []
        for _ in 0..<samples { raw.append(try await time { _ = try MailboxIndex.rawFirstPage(mailbox, limit: 50, in: node.projections.storage) }) }
        let rawP99 = percentile(raw, 0.99)
        let limitWhat = "raw LMDB read of one 50-row page (index + rows, not decoded), p99 ms"
        func result(_ name: String, _ ms: [Double]) -> BenchResult {
            BenchResult(name: name, value: percentile(ms, 0.99), unit: "ms p99", limit: rawP99, limitWhat: limitWhat, lowerIsBetter: true,
                        extra: ["p50_ms": .string(format(percentile(ms, 0.5), digits: 3)), "samples": .int(Int64(ms.count))])
        }
        // Cursors 100 pages deep, and the ids on those pages.
        var cursors: [[UInt8]?] = [nil]
        var ids: [String] = []
        var cursor: [UInt8]?
        for _ in 0..<100 {
            let page = try await access.page(mailbox, after: cursor, limit: 50, as: me)
            ids += page.messages.map(\.record.id)
            guard let next = page.next else { break }
            cursors.append(next)
            cursor = next
        }
        guard !ids.isEmpty else { throw CLI.fail("bench: the reader sees no messages in \(mailbox)") }
        var out: [BenchResult] = []
        var first: [Double] = [], deep: [Double] = []
        for _ in 0..<samples { first.append(try await time { _ = try await access.page(mailbox, limit: 50, as: me) }) }
        out.append(result("mailbox page (first, 50)", first))
        for _ in 0..<samples {
            let c = cursors.randomElement()!
            deep.append(try await time { _ = try await access.page(mailbox, after: c, limit: 50, as: me) })
        }
        out.append(result("mailbox page (random of 100, 50)", deep))
        let terms = ["malmo", "ostergotland", "ansokan bistand", "orosanmalan umea", "overklagande", "faktura gavle"]
        var search: [Double] = []
        for _ in 0..<samples {
            let q = terms.randomElement()!
            search.append(try await time { _ = try await access.page(mailbox, search: q, limit: 50, as: me) })
        }
        out.append(result("search (first 50 matches)", search))
        var trace: [Double] = [], actors: Set<String> = []
        for _ in 0..<samples {
            let id = ids.randomElement()!
            trace.append(try await time {
                let events = try await access.trace(id, as: me)
                for e in events where e.event.type == AccessEventType.accessed { actors.insert(e.event.actor) }
            })
        }
        out.append(result("message trace", trace))
        // One person's access log as the participant's auditor asks for it (AuditLog: grants,
        // the index by actor, each event read and its owner checked; 100 events).
        if try GrantsProjection.grants(to: [auditor], in: node.projections.storage).isEmpty {
            _ = try await node.ledger.append(Grant.draft(.init(grantee: auditor, scope: .participant(mailbox.participant), rights: [.audit],
                                                               reason: "kvitto bench query"), actor: "os:bench"))
        }
        let officer = Principal(name: auditor, assurance: .strong, interface: .api)
        let people = Array(actors.isEmpty ? [reader.description] : actors)
        var audit: [Double] = []
        for _ in 0..<samples {
            var q = AuditLog.Query(actor: people.randomElement()!)
            q.limit = 100
            audit.append(try await time { _ = try await AuditLog(access: access).events(q, as: officer) })
        }
        out.append(result("audit: one person's access log (auditor, ≤ 100)", audit))
        return out
    }

    // MARK: - HTTP

    /// The node's API's TLS configuration and the CA its clients trust.
    static func tls(nodeDir: String) throws -> (server: TLSConfiguration, client: TLSConfiguration) {
        let keys = try NodeKeys.load(try NodeConfig.load(directory: nodeDir), directory: nodeDir)
        guard let identity = keys.tls else { throw CLI.fail("bench: the node has no TLS identity") }
        let server = try AS4TLS(identity: identity, trustAnchors: keys.tlsTrust.anchors, requireClientCertificate: false).serverConfiguration()
        var client = TLSConfiguration.makeClientConfiguration()
        // The node's TLS anchors (a demo node's CA).
        let ca = ["/trust/tls/ca.crt", "/pki/ca.crt"].map { nodeDir + $0 }.first { FileManager.default.fileExists(atPath: $0) }
        guard let ca else { throw CLI.fail("bench: no CA certificate in \(nodeDir)/trust/tls or \(nodeDir)/pki") }
        client.trustRoots = .file(ca)
        return (server, client)
    }

    /// `concurrency` clients sending GET `path` for `seconds`; requests/s.
    static func load(port: Int, path: String, token: String?, client tls: TLSConfiguration, concurrency: Int, seconds: Double) async throws -> Double {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            func once() async throws {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)" + path)
                if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 8 << 20)
                guard response.status == .ok else { throw CLI.fail("bench: GET \(path) answered \(response.status.code)") }
            }
            for _ in 0..<concurrency { try await once() }  // warm: connections and TLS sessions
            let start = Date()
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var n = 0
                        while Date().timeIntervalSince(start) < seconds { try await once(); n += 1 }
                        return n
                    }
                }
                return try await group.reduce(0, +)
            }
            try await client.shutdown()
            return Double(total) / Date().timeIntervalSince(start)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A server process (`kvitto serve` or the bare handler) started with `arguments` plus
    /// `--port-file`; returns once its port is known.
    static func start(_ arguments: [String], nodeDir: String, name: String) async throws -> (process: Process, port: Int) {
        let portFile = nodeDir + "/bench-\(name).port"
        try? FileManager.default.removeItem(atPath: portFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments + [name == "api" ? "--api-port-file" : "--port-file", portFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let start = Date()
        while Date().timeIntervalSince(start) < 120, process.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (process, p)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        throw CLI.fail("bench: \(name) did not start within 120 s")
    }

    /// Starts `kvitto serve` on the node: time until `/health/ready`, resident memory; then the
    /// bare handler (`kvitto bench bare-server`, its own process like the node's) and the API take
    /// turns under the same load, `rounds` times, so that both see the machine as it is at the time.
    static func served(nodeDir: String, concurrency: Int, seconds: Double, rounds: Int) async throws -> [BenchResult] {
        let tls = try tls(nodeDir: nodeDir)
        let config = try NodeConfig.load(directory: nodeDir)
        let issuer = try NodeIdentity.developmentIssuer(config: config, directory: nodeDir)
        let token = try await issuer.mint(subject: "bench", claims: [issuer.trust.claimNames.pnrClaim: .string(reader.value),
                                                                     "acr": "http://id.elegnamnden.se/loa/1.0/loa3"])
        let started = Date()
        let (api, port) = try await start(["serve", "--node", nodeDir, "--log-level", "error"], nodeDir: nodeDir, name: "api")
        defer { if api.isRunning { kill(api.processIdentifier, SIGKILL); api.waitUntilExit() } }
        // Ready: the API answers /health/ready with 200 (the projections have caught up).
        var client = HTTPClient.Configuration(tlsConfiguration: tls.client)
        client.timeout = .init(connect: .seconds(2), read: .seconds(10))
        let probe = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
        var ready: Double?
        while ready == nil, Date().timeIntervalSince(started) < 120, api.isRunning {
            if let r = try? await probe.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/health/ready"), timeout: .seconds(5)),
               r.status == .ok {
                ready = Date().timeIntervalSince(started)
            } else {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        try await probe.shutdown()
        guard let ready else { throw CLI.fail("bench: kvitto serve was not ready within 120 s") }
        let rssReady = Self.memory(api.processIdentifier, "VmRSS")
        let (bare, barePort) = try await start(["bench", "bare-server", "--node", nodeDir], nodeDir: nodeDir, name: "bare")
        defer { if bare.isRunning { kill(bare.processIdentifier, SIGKILL); bare.waitUntilExit() } }
        let path = "/v1/mailboxes/\(mailbox.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")/messages?limit=50"
        var bareRates: [Double] = [], apiRates: [Double] = []
        let each = seconds / Double(max(1, rounds))
        for _ in 0..<max(1, rounds) {
            bareRates.append(try await load(port: barePort, path: "/bare", token: nil, client: tls.client, concurrency: concurrency, seconds: each))
            apiRates.append(try await load(port: port, path: path, token: token, client: tls.client, concurrency: concurrency, seconds: each))
        }
        let peak = Self.memory(api.processIdentifier, "VmHWM")
        for p in [api, bare] { p.terminate(); p.waitUntilExit() }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        func list(_ v: [Double]) -> String { v.map { format($0, digits: 0) }.joined(separator: " ") }
        return [
            BenchResult(name: "ready after start (kvitto serve)", value: ready, unit: "s", limit: 2, limitWhat: "issue goal: < 2 s",
                        lowerIsBetter: true),
            BenchResult(name: "resident memory when ready", value: rssReady / 1024, unit: "MB", limit: 200, limitWhat: "issue goal: < 200 MB",
                        lowerIsBetter: true),
            BenchResult(name: "mailbox page over HTTPS, \(concurrency) in flight", value: median(apiRates), unit: "requests/s", limit: median(bareRates),
                        limitWhat: "bare Hummingbird handler (its own process), same TLS and client, taking turns with the API; medians, requests/s",
                        extra: ["peak_rss_mb": .string(format(peak / 1024)), "rounds": .int(Int64(apiRates.count)),
                                "api_rates": .string(list(apiRates)), "bare_rates": .string(list(bareRates))]),
        ]
    }

    /// A memory figure of `pid` from /proc (kB), 0 when unreadable.
    static func memory(_ pid: Int32, _ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
