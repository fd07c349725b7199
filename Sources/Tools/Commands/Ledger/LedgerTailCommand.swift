import ArgumentParser
import Ledger

/// `kvitto ledger tail`: follows the ledger live.
struct LedgerTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail",
        abstract: "Print new events as they become durable (from --from, default: the next one), until interrupted.")

    @OptionGroup var location: LedgerLocation

    @Option(help: "First seq to print (default: after the current head).")
    var from: UInt64?

    @Option(help: "Stop after this many events.")
    var count: Int?

    @Flag(help: "Print each event as one line of canonical JSON.")
    var json = false

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            let start = try from ?? (ledger.head().seq + 1)
            var printed = 0
            for try await e in ledger.subscribe(from: start) {
                FileHandleOutput.stdout((json ? e.jsonLine : e.line) + "\n")
                printed += 1
                if let count, printed >= count { break }
            }
        }
    }
}
