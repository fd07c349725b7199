import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto trace`: the history of one message in this node's ledger.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Show the ledger events of one message, as your grants let you see them.",
        discussion: "You are the OS user running the command (os:<user>). A message your grants do not show is \"not found\", like one that does not exist; the node operator sees events without subjects or content.")

    @OptionGroup var location: NodeLocation
    @Argument(help: "The message id (the SDK message id = XHE ID).") var message: String
    @Flag(help: "Print the events as JSON lines.") var json = false

    func run() async throws {
        try await NodeCLI.run {
            let reader = try NodeReader.open(node: location.node, needsWriting: false)
            defer { reader.close() }
            let events = try await reader.access.trace(message, as: reader.principal)
            if json {
                for e in events {
                    if let redacted = e.redactedJSON {
                        print(String(decoding: CanonicalJSON.encode(redacted), as: UTF8.self))
                    } else {
                        print(e.event.jsonLine)
                    }
                }
            } else {
                let entries: [MessageTimeline.Entry] = events.map { MessageTimeline.Entry(node: "", event: $0.event, payload: $0.payload) }
                print(MessageTimeline.render(entries))
            }
        }
    }
}

/// `kvitto mailbox`: the messages the caller may see (optionally one functional address).
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mailbox", abstract: "List the messages your grants show, and their status.")

    @OptionGroup var location: NodeLocation
    @Option(help: "Only this functional address (function@participant).") var address: String?
    @Option(help: "Only messages whose subject or counterpart contains these words (needs --address; \"malmo\" finds \"Malmö\").") var search: String?
    @Option(help: "Most messages to list with --address (newest first).") var limit = 50

    func run() async throws {
        try await NodeCLI.run {
            let reader = try NodeReader.open(node: location.node, needsWriting: false)
            defer { reader.close() }
            let mailbox = try address.map { try NodeCLI.address($0, "--address") }
            if search != nil && mailbox == nil { throw CLI.fail("--search needs --address (the mailbox to search)") }
            let listed: [MessageAccess.Visible]
            if let mailbox {
                listed = try await reader.access.page(mailbox, search: search, limit: limit, as: reader.principal).messages
            } else {
                listed = try await reader.access.messages(as: reader.principal)
            }
            for v in listed {
                let r = v.record
                let peer = r.direction == .outbound ? "to \(r.to?.description ?? "?")" : "from \(r.from?.description ?? "?")"
                var line = "\(r.createdAt.rfc3339)  \(r.id)  \(r.direction == .outbound ? "out" : "in ")  \(r.status.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  \(peer)"
                if let label = v.label { line += "  \"\(label)\"" }
                if let failure = r.failure { line += "  (\(failure))" }
                print(line)
            }
        }
    }
}
