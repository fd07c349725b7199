import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto erase`: a message's content erased under a retention rule; content encrypted at rest
/// is crypto-shredded.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase", abstract: "Erase a message's content and attachments under a retention rule (gallring, GDPR).",
        discussion: """
            You are the OS user running the command (os:<user>) and need the manage right on the message's mailbox \
            or participant. Each removal is recorded first as blob.erased. Content encrypted at rest is \
            crypto-shredded: its data key is erased first, so no copy of it, here or in a backup, can be decrypted \
            again. The metadata, the XHE and the receipts stay. While the node runs, it does the erasure (through its control socket).
            """)

    @OptionGroup var location: NodeLocation
    @Argument(help: "The message id.") var message: String
    @Option(help: "The retention or legal rule applied (e.g. the gallringsbeslut).") var rule: String
    @Option(help: "Why, for the auditor.") var reason: String = ""
    @Flag(help: "Print the blob.erased events as JSON lines.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            let outcome = try await NodeAdmin.perform(.erase(message: message, rule: rule, reason: reason), node: location.node)
            if json {
                for e in outcome.result["events"]?.arrayElements ?? [] { print(String(decoding: CanonicalJSON.encode(e), as: UTF8.self)) }
            } else {
                print(outcome.text)
            }
        }
    }
}
