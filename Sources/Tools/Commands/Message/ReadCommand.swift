import ArgumentParser
import Foundation
import Ledger
import Node
import Projections
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto read`: the content or one attachment of a message, audit-first.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read a message's content or one attachment; the read is recorded in the ledger first.",
        discussion: """
            You are the OS user running the command (os:<user>) and need a read grant on the message's mailbox. \
            The read is appended as message.accessed and is durable before a byte is written; if it cannot be \
            recorded, nothing is returned. A refusal is recorded as access.denied. While kvitto serve runs (it holds \
            the ledger), the read goes through the node's control socket (<node>/run/control.sock): the node records it, \
            knowing you from the kernel, and sends the bytes.
            """)

    @OptionGroup var location: NodeLocation
    @Argument(help: "The message id.") var message: String
    @Option(help: "An attachment by its position (0 = the first); default: the SDK message itself.") var attachment: Int?
    @Option(help: "Why you read it (recorded with the read), e.g. a case number.") var purpose: String?
    @Option(help: "Write the bytes to this file (created with mode 0600; must not exist); default: standard output.") var out: String?

    func run() async throws {
        try await NodeCLI.run {
            if let out, FileManager.default.fileExists(atPath: out) { throw CLI.fail("\(out) exists; choose a new file") }
            let part: MessageAccess.Part
            if let attachment { part = .attachment(attachment) } else { part = .message }
            // While the node runs it holds the ledger: it records the read and sends the bytes
            // through its control socket. A socket nobody answers on was left by a stopped node.
            if FileManager.default.fileExists(atPath: ControlSocket.path(node: location.node)) {
                do {
                    try await readFromRunningNode(part: part)
                    return
                } catch is ControlSocketClient.NotListening {}
            }
            let reader = try NodeReader.open(node: location.node, needsWriting: true)
            defer { reader.close() }
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

    /// The read through the running node's control socket. Standard output gets the bytes only once
    /// they arrived whole and with their recorded SHA-256; `--out` (made new, mode 0600, not
    /// through a symbolic link) is emptied and removed when they did not.
    private func readFromRunningNode(part: MessageAccess.Part) async throws {
        var file: FileHandle?
        if let out {
            let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw CLI.fail("cannot create \(out): \(String(cString: strerror(errno)))") }
            file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        }
        let buffer = Buffer()
        let header: ControlSocketClient.Header
        do {
            header = try await ControlSocketClient.read(node: location.node, message: message, part: part, purpose: purpose) { bytes in
                if let file { try file.write(contentsOf: Data(bytes)) } else { buffer.append(bytes) }
            }
        } catch {
            if let file, let out {
                try? file.truncate(atOffset: 0)
                try? file.close()
                try? FileManager.default.removeItem(atPath: out)
            }
            throw error
        }
        if let file { try file.close() } else { FileHandle.standardOutput.write(buffer.data) }
        FileHandleOutput.stderr("kvitto: \(header.fileName) (\(header.contentType), \(header.size) bytes); read recorded by the running node as event \(header.accessSeq)\n")
    }

    /// Bytes collected for standard output until they are known to be whole.
    private final class Buffer: Sendable {
        private let bytes = Mutex(Data())
        func append(_ more: [UInt8]) { bytes.withLock { $0.append(contentsOf: more) } }
        var data: Data { bytes.withLock { $0 } }
    }
}
