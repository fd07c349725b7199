import ArgumentParser
import Ledger
import Foundation
import Node

/// `kvitto ledger …`: the event log.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Append to, read, prove and verify the signed event ledger.",
        subcommands: [
            LedgerAppendCommand.self, LedgerVerifyCommand.self, LedgerShowCommand.self, LedgerTailCommand.self,
            LedgerProofCommand.self, LedgerConsistencyCommand.self, LedgerCheckpointCommand.self,
            LedgerRotateKeyCommand.self, LedgerEraseBlobCommand.self, LedgerExportCommand.self, LedgerDemoCommand.self,
        ]
    )
}

/// Options every ledger command takes.
struct LedgerLocation: ParsableArguments {
    @Option(name: .long, help: "The ledger directory.")
    var ledger: String

    @Option(name: .long, help: "Directory of the signing keys (default: <ledger>/keys).")
    var keys: String?

    /// The node directory whose configuration names this ledger as its own (its parent, as
    /// `kvitto init` lays it out), if any: a writing command finding the ledger held hands the
    /// work to that node through its control socket.
    var node: String? {
        let path = URL(fileURLWithPath: ledger).standardizedFileURL.path
        let parent = (path as NSString).deletingLastPathComponent
        guard let config = try? NodeConfig.load(directory: parent),
              URL(fileURLWithPath: NodeConfig.resolve(config.ledger, in: parent)).standardizedFileURL.path == path else { return nil }
        return parent
    }

    func options(readOnly: Bool, create: Bool = false) -> LedgerOptions {
        var o = LedgerOptions()
        o.readOnly = readOnly
        o.create = create
        o.keyDirectory = keys
        return o
    }
}

extension Event {
    /// One human-readable line.
    var line: String {
        "\(seq)\t\(time)\t\(type)\t\(subject)\t\(actor)"
    }

    /// The envelope as one line of canonical JSON.
    var jsonLine: String {
        String(decoding: CanonicalJSON.encode(json), as: UTF8.self)
    }
}
