import ArgumentParser
import Foundation
import Ledger
import Node
import Projections

/// `kvitto read`: the content or one attachment of a message, audit-first.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read a message's content or one attachment; the read is recorded in the ledger first.",
        discussion: """
            You are the OS user running the command (os:<user>) and need a read grant on the message's mailbox. \
            The read is appended as message.accessed and is durable before a byte is written; if it cannot be \
            recorded (the node is running and holds the ledger, say), nothing is returned. A refusal is recorded \
            as access.denied.
            """)

    @OptionGroup var location: NodeLocation
    @Argument(help: "The message id.") var message: String
    @Option(help: "An attachment by its position (0 = the first); default: the SDK message itself.") var attachment: Int?
    @Option(help: "Why you read it (recorded with the read), e.g. a case number.") var purpose: String?
    @Option(help: "Write the bytes to this file (created with mode 0600; must not exist); default: standard output.") var out: String?

    func run() async throws {
        try await NodeCLI.run {
            if let out, FileManager.default.fileExists(atPath: out) { throw CLI.fail("\(out) exists; choose a new file") }
            let reader = try NodeReader.open(node: location.node, needsWriting: true)
            defer { reader.close() }
            let part: MessageAccess.Part
            if let attachment { part = .attachment(attachment) } else { part = .message }
            let content = try await reader.access.content(message, part: part, purpose: purpose, as: reader.principal)
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: Data(content.bytes), attributes: [.posixPermissions: 0o600]) else {
                    throw CLI.fail("cannot write \(out)")
                }
            } else {
                FileHandle.standardOutput.write(Data(content.bytes))
            }
            FileHandleOutput.stderr("kvitto: \(content.fileName) (\(content.contentType), \(content.bytes.count) bytes); read recorded as event \(content.accessSeq)\n")
        }
    }
}
