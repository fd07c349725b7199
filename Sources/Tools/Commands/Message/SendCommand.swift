import ArgumentParser
import Foundation
import Node
import Projections

/// `kvitto send`: submit a message from one of the node's functional addresses.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Submit an SDK message (text parts and attachments) from one of our functional addresses.",
        discussion: """
            While `kvitto serve` runs, the message is handed to it (through <node>/submissions) and sent at once. \
            Otherwise it is recorded in the ledger (message.submitted) and sent when the node is started. \
            The submitter recorded in the ledger is the operating-system user running this command.
            """
    )

    @OptionGroup var location: NodeLocation
    @Option(help: "Our functional address, function@participant.") var from: String
    @Option(help: "The recipient's functional address, function@participant (must be in the address book).") var to: String
    @Option(help: "Subject line.") var label: String?
    @Option(name: .customLong("text"), help: "A text part. Repeatable.") var texts: [String] = []
    @Option(name: .customLong("attach"), help: "A file to attach. Repeatable.") var files: [String] = []
    @Flag(help: "Mark the message confidential.") var confidential = false
    @Option(help: "A case or reference number for the recipient.") var reference: String?
    @Option(help: "Answer in this SDK conversation (the conversation id of an earlier message); without it the message starts its own.")
    var conversation: String?
    @Option(help: "Seconds to wait for a running node to take the message.") var timeout: Double = 30

    func run() async throws {
        let message = try await NodeCLI.run {
            var attachments: [OutboundMessage.Attachment] = []
            for f in files {
                guard let data = FileManager.default.contents(atPath: f) else { throw CLI.fail("cannot read \(f)") }
                attachments.append(.init(fileName: URL(fileURLWithPath: f).lastPathComponent, contentType: Self.contentType(f), content: Array(data)))
            }
            return OutboundMessage(from: try NodeCLI.address(from, "--from"), to: try NodeCLI.address(to, "--to"), label: label,
                                   texts: texts, attachments: attachments, confidential: confidential, reference: reference,
                                   conversation: conversation)
        }
        try await NodeCLI.run {
            do {
                let node = try Node.open(directory: location.node)
                let id: String
                do {
                    try await node.access.authorizeSend(from: message.from, as: OSUser.principal())
                    id = try await node.submit(message, actor: OSUser.current())
                } catch {
                    await node.close()
                    throw error
                }
                await node.close()
                print(id)
                FileHandleOutput.stderr("kvitto: message \(id) recorded; it is sent when `kvitto serve --node \(location.node)` runs\n")
            } catch let e as NodeError where e.code == .running {
                // The running node takes it through its control socket (nothing is written to
                // disk on the way), or, when nothing answers there, through the spool folder.
                if FileManager.default.fileExists(atPath: ControlSocket.path(node: location.node)) {
                    do {
                        print(try await ControlSocketClient.submit(node: location.node, message, request: UUID().uuidString.lowercased()))
                        return
                    } catch is ControlSocketClient.NotListening {}
                }
                let request = try SubmissionSpool.request(message, node: location.node)
                let id = try await SubmissionSpool.awaitResult(request, node: location.node, timeout: timeout)
                print(id)
            }
        }
    }

    static func contentType(_ path: String) -> String {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "pdf": "application/pdf"
        case "txt": "text/plain"
        case "xml": "application/xml"
        case "json": "application/json"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        default: "application/octet-stream"
        }
    }
}
