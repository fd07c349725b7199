import ArgumentParser
import Ledger

/// `kvitto ledger rotate-key`: replaces the ledger signing key.
struct LedgerRotateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate-key",
        abstract: "Generate a new signing key and record node.key.rotated (signed by the old key).")

    @OptionGroup var location: LedgerLocation

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false))
            defer { ledger.close() }
            print(try await ledger.rotateKey().jsonLine)
        }
    }
}
