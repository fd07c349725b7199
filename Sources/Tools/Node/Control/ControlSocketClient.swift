import Crypto
import Foundation
import Ledger
import NIOCore
import NIOPosix

/// The CLI while the node runs: `kvitto read` asks the node's ``ControlSocket`` for the content, so
/// the read is recorded by the node that holds the ledger; the writing commands hand their
/// ``AdminOperation`` to it. The node learns who is asking from the kernel.
package enum ControlSocketClient {
    /// What the node says about the content before sending it.
    package struct Header: Sendable {
        package var fileName: String
        package var contentType: String
        package var size: Int
        /// Nil for content encrypted at rest (its events record the ciphertext's hash; the node
        /// authenticated every segment before sending it).
        package var sha256: String?
        package var accessSeq: UInt64
    }

    /// Nothing listens on the socket (a file left by a node that is not running): the caller may
    /// read the ledger itself.
    package struct NotListening: Error {}

    /// Reads `part` of message `id` from the node in `node`; `sink` receives the bytes as they
    /// arrive. Throws the node's refusal as it gave it, or `node.storage` when the content was cut
    /// off or does not have the SHA-256 the node announced (its hash check failed, or the connection
    /// broke): bytes already given to `sink` must then be discarded. Throws ``NotListening`` when no
    /// node answers on the socket.
    package static func read(node: String, message id: String, part: MessageAccess.Part, purpose: String?,
                             into sink: @escaping ([UInt8]) throws -> Void) async throws -> Header {
        let channel = try await connect(node: node)
        var request: [String: Any] = ["message": id]
        if case .attachment(let n) = part { request["attachment"] = n }
        if let purpose { request["purpose"] = purpose }
        var line = try JSONSerialization.data(withJSONObject: request)
        line.append(UInt8(ascii: "\n"))
        let bytes = line
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var headerLine: [UInt8] = []
            var header: Header?
            var received = 0
            var hash = SHA256()
            for try await chunk in inbound {
                var view = chunk.readableBytesView[...]
                if header == nil {
                    guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                        headerLine += view
                        if headerLine.count > 64 * 1024 { throw NodeError(.storage, "the node's answer has no header line") }
                        continue
                    }
                    headerLine += view[..<newline]
                    view = view[view.index(after: newline)...]
                    header = try Self.header(headerLine)
                }
                if !view.isEmpty {
                    received += view.count
                    let bytes = Array(view)
                    hash.update(data: bytes)
                    try sink(bytes)
                }
            }
            guard let header else { throw NodeError(.storage, "the node closed the control socket without an answer") }
            guard received == header.size else {
                throw NodeError(.storage, "the content was cut off after \(received) of \(header.size) bytes (it failed its hash check on the node, or the connection broke); discard what was received")
            }
            let digest = Hex.encode(hash.finalize())
            guard header.sha256 == nil || digest == header.sha256 else {
                throw NodeError(.storage, "the content received does not have the SHA-256 its events record; discard it")
            }
            return header
        }
    }

    /// Has the node in `node` run `operation` as the user running this process; its outcome, or
    /// the node's refusal as it gave it. Throws ``NotListening`` when no node answers on the socket.
    package static func administer(node: String, _ operation: AdminOperation) async throws -> AdminOperation.Outcome {
        let channel = try await connect(node: node)
        var line = CanonicalJSON.encode(operation.json)
        line.append(UInt8(ascii: "\n"))
        let bytes = line
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var answer: [UInt8] = []
            for try await chunk in inbound {
                answer += chunk.readableBytesView
                if answer.count > 16 << 20 { throw NodeError(.storage, "the node's answer is longer than 16 MiB") }
            }
            if answer.last == UInt8(ascii: "\n") { answer.removeLast() }
            guard !answer.isEmpty else { throw NodeError(.storage, "the node closed the control socket without an answer") }
            guard let value = try? JSONParser.parse(answer), case .bool(let ok)? = value["ok"] else {
                throw NodeError(.storage, "the node's answer is not a JSON object with ok")
            }
            guard ok else {
                let code = value["code"]?.stringValue.flatMap(NodeError.Code.init(rawValue:)) ?? .storage
                throw NodeError(code, value["message"]?.stringValue ?? "refused")
            }
            guard let text = value["text"]?.stringValue, let result = value["result"] else {
                throw NodeError(.storage, "the node's answer lacks text or result")
            }
            return AdminOperation.Outcome(text: text, result: result)
        }
    }

    /// Hands `message` to the node in `node` as request `request` for the user running this
    /// process; the message id. A request whose answer was lost is handed over again with the
    /// same id (twice more at most): the node answers the message it made the first time, so it
    /// is one message. Throws the node's refusal as it gave it, or ``NotListening``.
    package static func submit(node: String, _ message: OutboundMessage, request: String) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: SubmissionSpool.object(message))
        var line = CanonicalJSON.encode(["operation": "send", "request": .string(request), "size": .int(Int64(body.count))])
        line.append(UInt8(ascii: "\n"))
        var lastError: any Error = NodeError(.storage, "the node did not answer")
        for attempt in 0..<3 {
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do { channel = try await connect(node: node) } catch {
                // Only before the first hand-over may the caller go another way (the spool).
                guard attempt > 0 else { throw error }
                throw NodeError(.storage, "the node stopped answering on its control socket after request \(request) was handed over; it may have been submitted: look in `kvitto mailbox` before sending again")
            }
            do {
                let bytes = line + Array(body)
                let answer: [UInt8] = try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    var answer: [UInt8] = []
                    for try await chunk in inbound {
                        answer += chunk.readableBytesView
                        if answer.count > 1 << 20 { throw NodeError(.storage, "the node's answer is longer than 1 MiB") }
                    }
                    return answer
                }
                guard let value = try? JSONParser.parse(answer.last == UInt8(ascii: "\n") ? Array(answer.dropLast()) : answer),
                      case .bool(let ok)? = value["ok"] else {
                    throw NodeError(.storage, "the node closed the control socket without an answer")
                }
                guard ok else {
                    let code = value["code"]?.stringValue.flatMap(NodeError.Code.init(rawValue:)) ?? .storage
                    // A refusal is final; only a lost answer is asked again.
                    throw Refused(error: NodeError(code, value["message"]?.stringValue ?? "refused"))
                }
                guard let id = value["result"]?["message_id"]?.stringValue else { throw NodeError(.storage, "the node's answer has no message_id") }
                return id
            } catch let refused as Refused {
                throw refused.error
            } catch {
                lastError = error
                if attempt < 2 { try? await Task.sleep(for: .milliseconds(200 << attempt)) }
            }
        }
        throw lastError
    }

    private struct Refused: Error { var error: NodeError }

    private static func connect(node: String) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(unixDomainSocketPath: ControlSocket.path(node: node)) { ch in
                    ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
                }
        } catch {
            throw NotListening()
        }
    }

    private static func header(_ line: [UInt8]) throws -> Header {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any], let ok = object["ok"] as? Bool else {
            throw NodeError(.storage, "the node's answer is not a JSON header")
        }
        guard ok else {
            let code = (object["code"] as? String).flatMap(NodeError.Code.init(rawValue:)) ?? .storage
            throw NodeError(code, object["message"] as? String ?? "refused")
        }
        guard let fileName = object["file_name"] as? String, let contentType = object["content_type"] as? String,
              let size = object["size"] as? Int, let seq = (object["access_seq"] as? NSNumber)?.uint64Value else {
            throw NodeError(.storage, "the node's header lacks file_name, content_type, size, sha256 or access_seq")
        }
        let sha256 = object["sha256"] as? String
        guard sha256.map({ $0.count == 64 }) ?? (object["sha256"] is NSNull) else {
            throw NodeError(.storage, "the node's header has no valid sha256")
        }
        return Header(fileName: fileName, contentType: contentType, size: size, sha256: sha256, accessSeq: seq)
    }
}
