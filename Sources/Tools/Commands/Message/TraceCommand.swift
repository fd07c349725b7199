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
    @Argument(help: "The message id (the SDK message id = XHE ID; the recipient's copy of a message delivered inside the node: <id>.in).") var message: String
    @Flag(help: "Print the events as JSON lines.") var json = false
    @Option(help: ArgumentHelp("Write the message's evidence bundle (Schemas/evidence-bundle.md) to this file instead; check it with `kvitto audit verify`.", valueName: "file"))
    var evidence: String?
    @Flag(help: "With --evidence: include the SDK message and attachments (recorded as your reads; needs a read grant).") var content = false
    @Option(help: "With --evidence --content: why you read it (recorded), e.g. a case number.") var purpose: String?
    @Option(help: ArgumentHelp("With --evidence: a checkpoint you keep outside the node (the JSON line `kvitto ledger checkpoint` printed, or its seq); the bundle then carries what `kvitto audit verify --witness` needs. Repeatable.", valueName: "file|seq"))
    var witness: [String] = []

    func run() async throws {
        if evidence == nil, content || purpose != nil || !witness.isEmpty { throw CLI.fail("--content, --purpose and --witness go with --evidence FILE") }
        if let evidence {
            try await writeEvidence(to: evidence)
            return
        }
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

extension TraceCommand {
    /// `--evidence FILE`: the bundle, written to a temporary file beside FILE and renamed into
    /// place when complete (never a partial bundle under FILE), readable by the owner only.
    private func writeEvidence(to file: String) async throws {
        let seqs = try witness.map(Self.witnessSeq)
        try await NodeCLI.run {
            let reader = try NodeReader.open(node: location.node, needsWriting: content)
            defer { reader.close() }
            let producer = EvidenceProducer(access: reader.access, node: reader.name, writesCheckpoints: reader.writable)
            let stream = try await producer.bundle(message, EvidenceRequest(content: content, purpose: purpose, witnesses: seqs), as: reader.principal)
            try EvidenceFile.write(stream, to: file)
        }
    }

    /// A witness as its seq: a number, or the seq of the checkpoint event in a file.
    static func witnessSeq(_ text: String) throws -> UInt64 {
        if let seq = UInt64(text), seq >= 1 { return seq }
        guard let data = FileManager.default.contents(atPath: text) else {
            throw CLI.fail("--witness \(text) is neither a seq nor a readable file")
        }
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = try? JSONParser.parse(line), value["type"]?.stringValue == EventType.checkpoint,
              let seq = value["seq"]?.intValue, seq >= 1 else {
            throw CLI.fail("--witness \(text) is not a checkpoint event (the JSON line `kvitto ledger checkpoint` printed)")
        }
        return UInt64(seq)
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
