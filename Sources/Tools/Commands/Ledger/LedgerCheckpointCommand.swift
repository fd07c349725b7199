import ArgumentParser
import Ledger

/// `kvitto ledger checkpoint`: a signed tree head now.
struct LedgerCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint",
        abstract: "Write a checkpoint (signed tree head) now and print it as JSON.")

    @OptionGroup var location: LedgerLocation

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false))
            defer { ledger.close() }
            let cp = try await ledger.checkpoint()
            print(cp.event.jsonLine)
        }
    }
}
