import ArgumentParser
import Ledger
import Node

/// `kvitto ledger rotate-key`: replaces the ledger signing key. When the ledger is a running
/// node's, the node rotates its key, through its control socket (the manage right on the node).
struct LedgerRotateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate-key",
        abstract: "Generate a new signing key and record node.key.rotated (signed by the old key).",
        discussion: "On the ledger of a running node, the node rotates its key: that needs the manage right on the node.")

    @OptionGroup var location: LedgerLocation

    func run() async throws {
        try await NodeCLI.run {
            let ledger: Ledger
            do { ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: false)) } catch let error as LedgerError where error.code == .locked {
                guard let node = location.node, location.keys == nil else { throw error }
                print(try await NodeAdmin.perform(.rotateKey, node: node).text)
                return
            }
            defer { ledger.close() }
            print(try await ledger.rotateKey().jsonLine)
        }
    }
}
