import ArgumentParser
import Foundation
import Ledger
import Logging
import Node
import Projections
import Transport

/// `kvitto bench evidence`: the officers' side. Evidence bundles made and verified per second for
/// a real message with 20 events (a two-node exchange with its AS4 and SDK evidence, then reads),
/// and the heaviest audit query — every access by one person over a year, as a complete report —
/// in a ledger of `--events` events (default 1M), each next to the raw LMDB read rate of the same
/// ledger measured in the same run.
struct EvidenceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Evidence bundles/s and verifications/s (a message with 20 events), and one person's year of accesses as an audit report (p99) over 1M events, vs raw LMDB reads.")

    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Events in the ledger (a synthetic history is added after the real exchange).") var events = 1_000_000
    @Option(help: "Seconds per throughput case.") var seconds: Double = 5
    @Option(help: "Times the heaviest audit report is computed.") var samples = 50

    static let reader = PrincipalName(kind: .pnr, value: "197001011234")
    static let auditor = PrincipalName(kind: .pnr, value: "195001011234")
    static let busy = PrincipalName(kind: .pnr, value: "196002022345")

    func run() async throws {
        var printer = BenchPrinter(json: json)
        var logger = Logger(label: "kvitto.bench")
        logger.logLevel = .error
        let base = NSTemporaryDirectory() + "kvitto-bench-evidence-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (dirA, dirB) = try await NodeCLI.run { try await DemoNetwork.create(in: base) }

        // 1. A real message: sent A → B, delivered, Meddelandekvittens back; then read at A
        //    until its trace holds 20 events.
        let id = try await Self.exchange(dirA, dirB, logger: logger)
        // 2. A history around it, up to `events` events.
        let existing = try await NodeCLI.run { () throws -> UInt64 in
            let l = try Ledger.open(at: dirA + "/ledger")
            defer { l.close() }
            return try l.durableHead()
        }
        let wanted = max(0, events - Int(existing))
        if wanted > 0 {
            let t0 = Date()
            // One officer-like person makes a tenth of the reads: the heaviest access log.
            // About five events per synthetic message.
            let appended = try await QueryBench.generate(messages: max(1, wanted / 5 + 100), node: dirA, busyReader: Self.busy.description)
            Self.note("history: \(appended) events appended in \(format(Date().timeIntervalSince(t0), digits: 1)) s")
        }
        let node = try await NodeCLI.run { try Node.open(directory: dirA, logger: logger) }
        let t0 = Date()
        _ = try node.projections.catchUp()
        Self.note("projections caught up in \(format(Date().timeIntervalSince(t0), digits: 1)) s")
        let raw = try [PhysicalLimits.lmdbCursorRead(node.ledger), PhysicalLimits.lmdbCursorRead(node.ledger)]
            .max { $0.recordsPerSecond < $1.recordsPerSecond }!
        let rawWhat = "raw LMDB cursor read of the ledger's records (\(raw.records) records, not decoded), same run"
        let head = try node.ledger.durableHead()

        // Bundles: as the API makes them for an auditor (no content, so nothing is recorded).
        let me = OSUser.principal()
        let officer = Principal(name: Self.auditor, assurance: .strong, interface: .api)
        _ = try await GrantAdministration(access: node.access).grant(
            .init(grantee: Self.auditor, scope: .participant(DemoNetwork.a.participant), rights: [.audit], reason: "kvitto bench evidence"), by: me)
        let producer = EvidenceProducer(access: node.access, node: "node-a", writesCheckpoints: true)
        var sample: [UInt8] = []
        func bundle() async throws -> [UInt8] {
            var bytes: [UInt8] = []
            let stream = try await producer.bundle(id, EvidenceRequest(), as: officer)
            try stream.write { bytes += $0 }
            return bytes
        }
        sample = try await bundle()
        let traceEvents = try await node.access.trace(id, as: officer).count
        let made = try await Self.rate(seconds: seconds) { _ in _ = try await bundle() }
        printer.emit(BenchResult(name: "evidence bundles (\(traceEvents) events, \(sample.count / 1024) KiB)", value: made, unit: "bundles/s",
                                 limit: raw.recordsPerSecond / Double(traceEvents), limitWhat: rawWhat + ", ÷ \(traceEvents) events",
                                 extra: ["ledger_events": .int(Int64(head)), "bundle_bytes": .int(Int64(sample.count))]))
        let report = await EvidenceVerifier().verify(sample)
        guard report.ok else { throw CLI.fail("the benchmark's bundle does not verify: \(report.failure!)") }
        let verified = try await Self.rate(seconds: seconds) { _ in _ = await EvidenceVerifier().verify(sample) }
        printer.emit(BenchResult(name: "evidence verifications (\(traceEvents) events, XML signatures)", value: verified, unit: "bundles/s",
                                 limit: raw.recordsPerSecond / Double(traceEvents), limitWhat: rawWhat + ", ÷ \(traceEvents) events",
                                 extra: ["ed25519_verifies_per_s": .int(Int64(PhysicalLimits.ed25519VerifiesPerSecond(threads: 1).perSecond))]))

        // The heaviest audit query: the busiest reader's every access over a year, complete, as a
        // report (rendered as JSON), run `samples` times.
        let reporter = AuditReporter(log: AuditLog(access: node.access), node: "node-a", writesCheckpoints: true)
        guard let person = try Self.busiestAccessors(node, limit: 1).first else { throw CLI.fail("the history holds no reads") }
        let year = Timestamp(nanoseconds: Timestamp.now().nanoseconds - 365 * 86_400 * 1_000_000_000)
        var ms: [Double] = []
        var rows = 0
        _ = try await node.ledger.checkpoint()
        for _ in 0..<samples {
            var q = AuditLog.Query(actor: person, type: "message.accessed")
            q.since = year
            let t = DispatchTime.now().uptimeNanoseconds
            let r = try await reporter.report(q, as: officer)
            _ = AuditReportFormat.json.render(r)
            ms.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            rows = r.rows.count
        }
        // The same number of records read raw, at the rate measured above.
        let rawMS = Double(max(1, rows)) / raw.recordsPerSecond * 1000
        printer.emit(BenchResult(name: "audit report: the busiest reader's year of accesses", value: percentile(ms, 0.99), unit: "ms p99",
                                 limit: rawMS, limitWhat: "raw LMDB read of as many records as the report holds (\(rows)), ms",
                                 lowerIsBetter: true,
                                 extra: ["p50_ms": .string(format(percentile(ms, 0.5), digits: 3)), "samples": .int(Int64(ms.count)),
                                         "ledger_events": .int(Int64(head)), "report_events": .int(Int64(rows))]))
        printer.emit(BenchResult(name: "raw LMDB cursor read", value: raw.recordsPerSecond, unit: "records/s", limit: raw.recordsPerSecond,
                                 limitWhat: "itself"))
        await node.close()
    }

    /// Sends one message A → B and waits for its Meddelandekvittens; then reads it at A until its
    /// trace holds 20 events. Returns the message id.
    static func exchange(_ dirA: String, _ dirB: String, logger: Logger) async throws -> String {
        let nodeA = try await NodeCLI.run { try Node.open(directory: dirA, logger: logger) }
        let nodeB = try await NodeCLI.run { try Node.open(directory: dirB, logger: logger) }
        let me = OSUser.principal()
        let message = OutboundMessage(from: .init(participant: DemoNetwork.a.participant, function: DemoNetwork.a.function),
                                      to: .init(participant: DemoNetwork.b.participant, function: DemoNetwork.b.function),
                                      label: "Evidence benchmark", texts: ["Hej! Ett meddelande för mätning."],
                                      attachments: [.init(fileName: "bilaga.txt", contentType: "text/plain", content: Array(repeating: 0x61, count: 4096))])
        do {
            let id = try await DemoNetwork.running([nodeA, nodeB]) { _ in
                let id = try await NodeCLI.run { try await nodeA.submit(message, actor: me.actor) }
                let done = try await DemoNetwork.wait(timeout: 60) { try nodeA.snapshot().messages[id]?.status == .accepted }
                guard done else { throw CLI.fail("the benchmark's message was not accepted within 60 s") }
                return id
            }
            await nodeB.close()
            let person = Principal(name: Self.reader, assurance: .strong, interface: .api)
            _ = try await GrantAdministration(access: nodeA.access).grant(
                .init(grantee: Self.reader, scope: .mailbox(message.from), rights: [.read], reason: "kvitto bench evidence"), by: me)
            for i in 0..<40 {
                guard try await nodeA.access.trace(id, as: person).count < 20 else { break }
                _ = try await nodeA.access.content(id, part: i % 2 == 0 ? .message : .attachment(0), purpose: "bench", as: person)
            }
            await nodeA.close()
            return id
        } catch {
            await nodeA.close()
            await nodeB.close()
            throw error
        }
    }

    /// The actors of `message.accessed` events with the most of them (up to `limit`).
    static func busiestAccessors(_ node: Node, limit: Int) throws -> [String] {
        var counts: [String: Int] = [:]
        var after: UInt64 = 0
        while true {
            let seqs = try EventIndex.seqs(.type("message.accessed"), after: after, limit: 10_000, in: node.projections.storage)
            guard let last = seqs.last else { break }
            for seq in seqs { if let e = try node.ledger.event(seq) { counts[e.actor, default: 0] += 1 } }
            after = last
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map(\.key)
    }

    /// Operations per second of `body`, run back to back for `seconds`.
    static func rate(seconds: Double, _ body: (Int) async throws -> Void) async throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var n = 0
        while Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 < seconds {
            try await body(n)
            n += 1
        }
        return Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }

    static func note(_ s: String) { FileHandleOutput.stderr(s + "\n") }
}
