import ArgumentParser
import Ledger

/// `kvitto ledger show`: events from a position.
struct LedgerShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print stored events.")

    @OptionGroup var location: LedgerLocation

    @Option(help: "First seq to show.")
    var from: UInt64 = 1

    @Option(help: "Most events to show.")
    var limit: Int = 100

    @Flag(help: "Print each event as one line of canonical JSON.")
    var json = false

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            var next = from
            var left = limit
            while left > 0 {
                let page = try ledger.events(from: next, limit: Swift.min(left, 1024))
                if page.isEmpty { break }
                FileHandleOutput.stdout(page.map { (json ? $0.jsonLine : $0.line) + "\n" }.joined())
                left -= page.count
                next = page.last!.seq + 1
            }
        }
    }
}
