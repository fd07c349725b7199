import ArgumentParser
import Ledger
import Node

/// `kvitto ledger checkpoint`: a signed tree head now. When the ledger is a running node's (it
/// holds the ledger), the node writes it, through its control socket, as the OS user's grants allow.
struct LedgerCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint",
        abstract: "Write a checkpoint (signed tree head) now and print it as JSON.",
        discussion: """
            On the ledger of a running node (the node directory holding it has kvitto.json), the node writes the checkpoint: \
            that needs the manage, audit or operate right on the node.
            """)

    @OptionGroup var location: LedgerLocation

    func run() async throws {
        try await NodeCLI.run {
            let ledger: Ledger
            do { ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false)) } catch let error as LedgerError where error.code == .locked {
                guard let node = location.node, location.keys == nil else { throw error }
                print(try await NodeAdmin.perform(.checkpoint, node: node).text)
                return
            }
            defer { ledger.close() }
            let cp = try await ledger.checkpoint()
            print(cp.event.jsonLine)
        }
    }
}
