import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto trace`: the history of one message in this node's ledger.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Show the ledger events of one message, as one participant's identity sees them.")

    @OptionGroup var location: NodeLocation
    @Argument(help: "The message id (the SDK message id = XHE ID).") var message: String
    @Option(help: "Read as this identity (from kvitto.json); only its participant's messages are visible.") var identity: String
    @Flag(help: "Print the events as JSON lines.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            let view = try NodeReader.view(node: location.node, identity: identity)
            defer { view.projector.ledger.close() }
            guard let events = try view.trace(message) else {
                throw NodeError(.notFound, "no message \(message) for \(identity)")
            }
            if json {
                for e in events { print(e.jsonLine) }
            } else {
                print(MessageTimeline.render(events.map { .init(node: "", event: $0) }))
            }
        }
    }
}

/// `kvitto mailbox`: the messages of one participant (optionally one functional address).
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mailbox", abstract: "List a participant's messages and their status.")

    @OptionGroup var location: NodeLocation
    @Option(help: "Read as this identity (from kvitto.json).") var identity: String
    @Option(help: "Only this functional address (function@participant).") var address: String?

    func run() async throws {
        try await NodeCLI.run {
            let view = try NodeReader.view(node: location.node, identity: identity)
            defer { view.projector.ledger.close() }
            let mailbox = try address.map { try NodeCLI.address($0, "--address") }
            for r in try view.messages(mailbox: mailbox) {
                let peer = r.direction == .outbound ? "to \(r.to?.description ?? "?")" : "from \(r.from?.description ?? "?")"
                var line = "\(r.createdAt.rfc3339)  \(r.id)  \(r.direction == .outbound ? "out" : "in ")  \(r.status.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  \(peer)"
                if let label = r.label, !r.confidential { line += "  \"\(label)\"" }
                if let failure = r.failure { line += "  (\(failure))" }
                print(line)
            }
        }
    }
}

/// Read-only access to a node directory (works while `kvitto serve` runs).
enum NodeReader {
    static func view(node: String, identity: String) throws -> ParticipantView {
        let config = try NodeConfig.load(directory: node)
        guard let i = config.identities.first(where: { $0.name == identity }) else {
            throw NodeError(.unknownIdentity, "no identity \(identity) in \(node)/\(NodeConfig.fileName)")
        }
        var options = LedgerOptions()
        options.readOnly = true
        let ledger = try Ledger.open(at: NodeConfig.resolve(config.ledger, in: node), options: options)
        return ParticipantView(projector: Projector(ledger: ledger), participant: i.participant)
    }
}
