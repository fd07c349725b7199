import ArgumentParser
import Dispatch
import Foundation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

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
        let signRate = PhysicalLimits.ed25519SignsPerSecond()
        let signWhat = "ed25519 sign/s, \(PhysicalLimits.cores) cores"
        var options = LedgerOptions()
        options.create = true
        let ledger = try Ledger.open(at: root, options: options)
        defer { ledger.close() }
        var first: Double?
        var done = 0
        var peakRSS = 0
        while done < events {
            let n = Swift.min(segment, events - done)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await AppendRun.fill(ledger: ledger, events: n)
            let rate = Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            first = first ?? rate
            done += n
            let rss = residentBytes()
            peakRSS = Swift.max(peakRSS, rss)
            out.emit(BenchResult(name: "append segment \(done / segment) (events \(done - n + 1)…\(done))", value: rate,
                unit: "events/s", limit: signRate, limitWhat: signWhat,
                extra: ["vs_first_segment": .string(format(rate / first!, digits: 3)), "rss_mib": .int(Int64(rss >> 20))]))
        }
        out.emit(BenchResult(name: "resident memory after \(done) events", value: Double(peakRSS >> 20), unit: "MiB",
            limit: Double(peakRSS >> 20), limitWhat: "peak RSS (bounded: no whole-log structures)"))
    }
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
