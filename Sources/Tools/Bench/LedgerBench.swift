import ArgumentParser
import Dispatch
import Foundation
import Ledger

/// `kvitto bench ledger`: durable signed appends, latency and full verification.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger",
        abstract: "Durable signed appends/s (batch 1, 16, 256 × 1 and 64 writers), latency, and verification rate.")

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "Seconds per append case (in three segments, with the signing limit measured between them).")
    var seconds: Double = 6

    @Option(help: "Events in the ledger that is fully verified.")
    var verifyEvents: Int = 1_000_000

    @Option(help: "Working directory (default: a fresh temporary one, removed afterwards).")
    var dir: String?

    @Option(help: "Only the append cases whose batch=B writers=W name contains this text (the limits always run).")
    var only: String?

    @Flag(help: "Skip the full-verification case.")
    var skipVerify = false

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "kvitto-bench-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        var out = BenchPrinter(json: json)
        let cores = PhysicalLimits.cores
        // The machine's rates, each with the faster of BoringSSL and OpenSSL: the ledger signs
        // with BoringSSL, whose Ed25519 signing is the faster one here.
        let signFastest = PhysicalLimits.ed25519SignsPerSecond()
        let signRate = signFastest.perSecond
        let verifyFastest = PhysicalLimits.ed25519VerifiesPerSecond()
        let signWhat = "ed25519 sign/s, \(cores) cores (fastest library here)"
        out.emit(BenchResult(name: "raw ed25519 sign", value: signRate, unit: "signs/s", limit: signRate, limitWhat: signWhat,
            extra: signFastest.extra("ed25519_sign")))
        out.emit(BenchResult(name: "raw ed25519 verify", value: verifyFastest.perSecond, unit: "verifies/s", limit: verifyFastest.perSecond,
            limitWhat: "ed25519 verify/s, \(cores) cores (fastest library here)", extra: verifyFastest.extra("ed25519_verify")))
        let shaFastest = PhysicalLimits.sha256BytesPerSecond()
        let shaRate = shaFastest.perSecond
        out.emit(BenchResult(name: "raw sha256 600-byte blocks", value: shaRate / 1e6, unit: "MB/s", limit: shaRate / 1e6,
            limitWhat: "sha256 MB/s, 1 core (fastest library here)", extra: shaFastest.extra("sha256_bytes")))

        var rawCache: [Int: (Double, [Double])] = [:]
        func raw(_ perTxn: Int) throws -> (Double, [Double]) {
            if let r = rawCache[perTxn] { return r }
            let r = try PhysicalLimits.lmdbAppend(directory: root + "/raw-\(perTxn)", perTransaction: perTxn,
                valueSize: 96 + 560, seconds: Swift.min(seconds, 2))
            rawCache[perTxn] = r
            return r
        }

        for batch in [1, 16, 256] {
            for writers in [1, 64] {
                if let only, !"batch=\(batch) writers=\(writers)".contains(only) { continue }
                // Each case starts on a quiet disk: what earlier cases wrote is on it, not still
                // being written back by the kernel while this one runs.
                sync()
                let caseDirectory = root + "/append-\(batch)-\(writers)"
                defer { try? FileManager.default.removeItem(atPath: caseDirectory) }
                let run = try await AppendRun.measure(directory: caseDirectory, batch: batch,
                    writers: writers, seconds: seconds)
                // The raw LMDB limit at the transaction size the group commit actually produced.
                let perTxn = Swift.max(1, Int((run.eventsPerTransaction).rounded()))
                let (lmdbRate, lmdbLatencies) = try raw(perTxn)
                let signRate = run.signsPerSecond
                let limit = Swift.min(signRate, lmdbRate)
                let what = signRate <= lmdbRate ? signWhat
                    : "raw LMDB MDB_APPEND puts/s, \(perTxn) per synced txn"
                let extra: [String: JSONValue] = [
                    "events_per_txn": .int(Int64(run.eventsPerTransaction.rounded())),
                    "limit_sign": .int(Int64(signRate)), "limit_lmdb": .int(Int64(lmdbRate)),
                    // CPU cost per event next to the CPU cost of one raw signature (all cores busy
                    // in the limit): their ratio is what the append rate would reach on idle cores.
                    "cpu_ns_per_event": .int(Int64((run.cpuMicrosPerEvent * 1000).rounded())),
                    "cpu_ns_per_sign": .int(Int64((Double(cores) * 1e9 / signRate).rounded())),
                ]
                out.emit(BenchResult(name: "append batch=\(batch) writers=\(writers)", value: run.eventsPerSecond,
                    unit: "events/s", limit: limit, limitWhat: what, extra: extra))
                let rawP50 = percentile(lmdbLatencies, 0.5) * 1000
                let rawP99 = percentile(lmdbLatencies, 0.99) * 1000
                out.emit(BenchResult(name: "append latency batch=\(batch) writers=\(writers)", value: run.p50 * 1000,
                    unit: "ms p50", limit: rawP50, limitWhat: "raw LMDB synced commit p50 ms, \(perTxn) puts", lowerIsBetter: true))
                out.emit(BenchResult(name: "append latency batch=\(batch) writers=\(writers)", value: run.p99 * 1000,
                    unit: "ms p99", limit: rawP99, limitWhat: "raw LMDB synced commit p99 ms, \(perTxn) puts", lowerIsBetter: true))
            }
        }

        if skipVerify { return }
        // Full verification of a large ledger.
        let verifyDir = root + "/verify"
        try await AppendRun.fill(directory: verifyDir, events: verifyEvents)
        sync()  // written back before it is read: no writeback competing with the verification
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: verifyDir, options: options)
        // The limit: checking the same ledger's signatures and nothing else, on all cores, in the
        // same run (this also brings the file into the page cache for both passes alike).
        let raw = try PhysicalLimits.ed25519VerifiesOfLedger(ledger)
        let report = LedgerVerifier(ledger: ledger).run()
        let verifyLimit = raw.perSecond
        guard report.ok else { throw CLI.fail("verification of the benchmark ledger failed: \(report.failure!)") }
        let rate = Double(report.events) / report.seconds
        out.emit(BenchResult(name: "verify \(report.events) events", value: rate, unit: "events/s", limit: verifyLimit,
            limitWhat: "ed25519 verify/s of the same \(raw.valid) signatures, \(cores) cores (fastest library here)",
            extra: raw.rate.extra("ed25519_verify").merging(["seconds": .int(Int64(report.seconds.rounded()))]) { $1 }))
    }
}

/// User + system CPU seconds this process has used so far, all threads.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// One append benchmark run: `writers` tasks each appending batches of `batch` events.
struct AppendRun {
    var eventsPerSecond: Double
    var eventsPerTransaction: Double
    var p50: Double
    var p99: Double
    /// Process CPU time (user + system, all threads) per appended event, in microseconds: the
    /// cost of an event on this machine, independent of what else shares the cores.
    var cpuMicrosPerEvent: Double
    /// The raw Ed25519 signing rate on all cores, measured between the append segments.
    var signsPerSecond: Double

    /// A draft whose canonical payload is 300 bytes.
    static func draft(_ i: Int) -> EventDraft {
        EventDraft(type: "message.submitted", subject: "message:\(i)", actor: "bench",
            payload: ["n": .int(Int64(i)), "body": .string(filler)])
    }
    private static let filler = String(repeating: "x", count: 300 - 40)

    /// Appends for `seconds` in `segments` segments, with the raw signing rate measured for 0.3 s
    /// before each segment and after the last: on a shared machine whose speed drifts, the limit
    /// is then taken at the same moments as the appends it is compared with.
    static func measure(directory: String, batch: Int, writers: Int, seconds: Double, segments: Int = 3)
        async throws -> AppendRun
    {
        var options = LedgerOptions()
        options.create = true
        let ledger = try Ledger.open(at: directory, options: options)
        defer { ledger.close() }
        // Each writer appends the same drafts again and again, built before the clock starts.
        let drafts = (0..<writers).map { w in (0..<batch).map { draft(w * 1_000_000 + $0) } }
        let before = ledger.commitStatistics
        var signRates: [Double] = []
        var latencies: [Double] = []
        var elapsed = 0.0
        var cpu = 0.0
        for _ in 0..<segments {
            signRates.append(PhysicalLimits.ed25519SignsPerSecond(seconds: 0.3).perSecond)
            let cpuBefore = processCPUSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            let deadline = start + UInt64(seconds / Double(segments) * 1e9)
            latencies += try await withThrowingTaskGroup(of: [Double].self) { group in
                for w in 0..<writers {
                    let mine = drafts[w]
                    group.addTask {
                        var latencies: [Double] = []
                        while DispatchTime.now().uptimeNanoseconds < deadline {
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            _ = try await ledger.append(mine)
                            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                        }
                        return latencies
                    }
                }
                var all: [Double] = []
                for try await l in group { all += l }
                return all
            }
            elapsed += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            cpu += processCPUSeconds() - cpuBefore
        }
        signRates.append(PhysicalLimits.ed25519SignsPerSecond(seconds: 0.3).perSecond)
        let after = ledger.commitStatistics
        let events = Double(latencies.count * batch)
        let txns = Double(after.transactions - before.transactions)
        return AppendRun(eventsPerSecond: events / elapsed,
            eventsPerTransaction: txns > 0 ? Double(after.events - before.events) / txns : 0,
            p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
            cpuMicrosPerEvent: events > 0 ? cpu * 1e6 / events : 0,
            signsPerSecond: signRates.reduce(0, +) / Double(signRates.count))
    }

    /// Appends `events` events as fast as possible (64 writers × 256).
    static func fill(directory: String, events: Int, progress: ((Int, Double) -> Void)? = nil) async throws {
        var options = LedgerOptions()
        options.create = true
        let ledger = try Ledger.open(at: directory, options: options)
        defer { ledger.close() }
        try await fill(ledger: ledger, events: events, progress: progress)
    }

    static func fill(ledger: Ledger, events: Int, progress: ((Int, Double) -> Void)? = nil) async throws {
        let writers = 64
        let batch = 256
        let perWriter = (events + writers * batch - 1) / (writers * batch)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for r in 0..<perWriter {
                        let base = (w * perWriter + r) * batch
                        _ = try await ledger.append((0..<batch).map { draft(base + $0) })
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
