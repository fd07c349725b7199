import ArgumentParser

/// `kvitto bench …`: benchmarks, each reported against a physical limit measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency against the machine's physical limits.",
        subcommands: [LedgerBench.self, LedgerScaleBench.self, XMLBench.self, AS4Bench.self, NodeBench.self, QueryBench.self, StreamsBench.self, EvidenceBench.self, BackupBench.self, BareServer.self, RSAWorker.self]
    )
}

/// Prints benchmark results as JSON lines or a table.
struct BenchPrinter {
    let json: Bool
    private var headerPrinted = false

    init(json: Bool) { self.json = json }

    mutating func emit(_ r: BenchResult) {
        if json {
            FileHandleOutput.stdout(r.jsonLine + "\n")
        } else {
            if !headerPrinted {
                headerPrinted = true
                FileHandleOutput.stdout(BenchResult(name: "case", value: 0, unit: "", limit: 0, limitWhat: "limit (what)").tableLine
                    .replacingZeros() + "\n")
            }
            FileHandleOutput.stdout(r.tableLine + "\n")
        }
    }
}

extension String {
    fileprivate func replacingZeros() -> String {
        // The header row reuses the table layout; its numeric cells are labels.
        var s = self
        if let r = s.range(of: "0 ") { s.replaceSubrange(r, with: "value ") }
        if let r = s.range(of: " 0 ") { s.replaceSubrange(r, with: " limit ") }
        return s
    }
}
