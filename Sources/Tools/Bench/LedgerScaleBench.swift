import ArgumentParser
import Dispatch
import Foundation
import Ledger


/// `kvitto bench ledger-scale`: throughput per million events over a long append, and memory.
struct LedgerScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger-scale",
        abstract: "Append many events (default 5M); report throughput per million and resident memory.")

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "Events to append.")
    var events: Int = 5_000_000

    @Option(help: "Events per reported segment.")
    var segment: Int = 1_000_000

    @Option(help: "Working directory (default: a fresh temporary one, removed afterwards).")
    var dir: String?

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "kvitto-scale-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        var out = BenchPrinter(json: json)
        let signRate = PhysicalLimits.ed25519SignsPerSecond().perSecond
        let signWhat = "ed25519 sign/s, \(PhysicalLimits.cores) cores"
        var options = LedgerOptions()
        options.create = true
        let ledger = try Ledger.open(at: root, options: options)
        defer { ledger.close() }
        var first: Double?
        var firstAnon = 0
        var done = 0
        var peakAnon = 0
        while done < events {
            let n = Swift.min(segment, events - done)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await AppendRun.fill(ledger: ledger, events: n)
            let rate = Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            first = first ?? rate
            done += n
            if firstAnon == 0 { firstAnon = residentMemory().anonymous }
            let rss = residentMemory()
            peakAnon = Swift.max(peakAnon, rss.anonymous)
            out.emit(BenchResult(name: "append segment \(done / segment) (events \(done - n + 1)…\(done))", value: rate,
                unit: "events/s", limit: signRate, limitWhat: signWhat,
                extra: ["vs_first_segment": .string(format(rate / first!, digits: 3)),
                    "rss_anon_mib": .int(Int64(rss.anonymous >> 20)), "rss_file_mib": .int(Int64(rss.file >> 20))]))
        }
        // Memory: the anonymous (heap) peak against what the first segment needed.
        out.emit(BenchResult(name: "peak heap after \(done) events", value: Double(peakAnon >> 20), unit: "MiB",
            limit: Double(firstAnon >> 20), limitWhat: "heap after the first segment (bounded: no whole-log structures)",
            lowerIsBetter: true))
    }
}

/// Resident memory of this process from /proc/self/status: `anonymous` is heap and stacks (what
/// the process allocates); `file` is mapped file pages (LMDB's map), which the kernel may drop.
func residentMemory() -> (anonymous: Int, file: Int) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func kib(_ field: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0").map { $0 * 1024 } ?? 0
    }
    return (kib("RssAnon:"), kib("RssFile:"))
}
