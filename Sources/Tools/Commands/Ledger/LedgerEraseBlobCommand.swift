import ArgumentParser
import Ledger
import Node

/// `kvitto ledger erase-blob`: removes stored content under a retention rule, recorded first.
struct LedgerEraseBlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "erase-blob",
        abstract: "Erase a blob's content (gallring, GDPR): records blob.erased, then removes the bytes.",
        discussion: "Events keep the blob's hash; `kvitto ledger verify` reports the blob as erased, not as tampered with. The erasure is recorded as done by you, the operating-system user running the command (os:<user>). On a node, prefer `kvitto erase` (a message's content, under the grants; also while the node runs); this command is for a bare ledger, with the node stopped.")

    @OptionGroup var location: LedgerLocation

    @Option(help: "SHA-256 of the blob (64 hex digits), as events reference it.")
    var sha256: String

    @Option(help: "The retention or legal rule applied (e.g. the gallringsbeslut).")
    var rule: String

    @Option(help: "Why, for the auditor.")
    var reason: String = ""

    func run() async throws {
        guard let hash = Digest32(hex: sha256) else { throw CLI.fail("--sha256 must be 64 hex digits") }
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false))
            defer { ledger.close() }
            // The actor is the operating-system user running the command, never a name typed here.
            print(try await ledger.eraseBlob(hash, actor: OSUser.current(), rule: rule, reason: reason).jsonLine)
        }
    }
}
