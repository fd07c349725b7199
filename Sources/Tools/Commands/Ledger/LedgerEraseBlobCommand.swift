import ArgumentParser
import Ledger

/// `kvitto ledger erase-blob`: removes stored content under a retention rule, recorded first.
struct LedgerEraseBlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "erase-blob",
        abstract: "Erase a blob's content (gallring, GDPR): records blob.erased, then removes the bytes.",
        discussion: "Events keep the blob's hash; `kvitto ledger verify` reports the blob as erased, not as tampered with. Stop a running node first: the ledger has one writer.")

    @OptionGroup var location: LedgerLocation

    @Option(help: "SHA-256 of the blob (64 hex digits), as events reference it.")
    var sha256: String

    @Option(help: "Who erases: a user identity, or node for an automatic retention rule.")
    var actor: String

    @Option(help: "The retention or legal rule applied (e.g. the gallringsbeslut).")
    var rule: String

    @Option(help: "Why, for the auditor.")
    var reason: String = ""

    func run() async throws {
        guard let hash = Digest32(hex: sha256) else { throw CLI.fail("--sha256 must be 64 hex digits") }
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false))
            defer { ledger.close() }
            print(try await ledger.eraseBlob(hash, actor: actor, rule: rule, reason: reason).jsonLine)
        }
    }
}
