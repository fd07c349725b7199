package import Foundation
package import Logging
package import NIOCore
import NIOPosix
import Projections
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Audited content reads for the CLI while `kvitto serve` holds the ledger: a Unix domain socket
/// at `<node>/run/read.sock`. The caller is the user the kernel reports for the connection
/// (`SO_PEERCRED`: `os:<user>`), never a name the request carries; what it may read is decided
/// by the grants, and the read is recorded (`message.accessed`, interface `cli`) before the first
/// byte is sent — exactly as for `kvitto read` on a stopped node. Who can connect is decided by
/// the node directory's permissions (the socket itself is open to every user who can reach it).
///
/// The protocol (`Schemas/read-socket.md`): the client sends one line of JSON,
/// `{"message": ID, "attachment": N?, "purpose": TEXT?}`, at most 4 KiB; the node answers one
/// line of JSON — `{"ok": true, "file_name", "content_type", "size", "access_seq"}` followed by
/// exactly `size` bytes, or `{"ok": false, "code", "message"}` — and closes. A content that fails
/// its hash check on the way is cut off: the client gets fewer than `size` bytes and must
/// discard them.
package struct ReadSocket: Sendable {
    package let access: MessageAccess
    package let path: String
    package let logger: Logger
    /// Connections served at once; more are closed at once.
    package var maxConnections = 64
    /// A client must send its request within this time.
    package var requestTimeout: TimeAmount = .seconds(10)

    package init(access: MessageAccess, node: String, logger: Logger) {
        self.access = access
        self.path = Self.path(node: node)
        self.logger = logger
    }

    /// Where the socket of the node in `node` is.
    package static func path(node: String) -> String { node + "/run/read.sock" }

    /// Largest request line.
    static let maxRequest = 4096

    /// Serves until the task is cancelled. A socket that cannot be made (a node path longer than a
    /// socket path may be, say) is logged once and the node runs without it: `kvitto read` then
    /// says to use the API.
    package func runUntilCancelled() async {
        do { try await run() } catch {
            guard !Task.isCancelled else { return }
            logger.error("the read socket is not available; kvitto read works only through the API while the node runs",
                         metadata: ["path": .string(path), "error": .string("\(error)")])
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// Serves until the task is cancelled; the socket file is removed at the end.
    package func run() async throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                Self.peer(of: channel).flatMapThrowing { uid in
                    // Half-closure: the answer ends with the node's end of the stream once every
                    // byte is out (closing at once could drop bytes still queued).
                    (try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                                 configuration: .init(isOutboundHalfClosureEnabled: true)), uid)
                }
            }
        // Who may connect is the directory's business; the caller's identity is the kernel's.
        _ = chmod(path, 0o666)
        defer { _ = unlink(path) }
        let slots = Slots(max: maxConnections)
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await (connection, uid) in connections {
                        guard slots.take() else {
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            defer { slots.give() }
                            await serve(connection, uid: uid)
                        }
                    }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    /// The uid of the process at the other end, as the kernel reports it.
    private static func peer(of channel: any Channel) -> EventLoopFuture<uid_t> {
        guard let options = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(NodeError(.storage, "the read socket cannot ask the kernel who connected"))
        }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Linux): three 32-bit fields.
        let credentials: EventLoopFuture<(Int32, UInt32, UInt32)> = options.unsafeGetSocketOption(
            level: .init(rawValue: SOL_SOCKET), name: .init(rawValue: SO_PEERCRED))
        return credentials.map { $0.1 }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, uid: uid_t) async {
        let principal = OSUser.principal(uid: uid)
        do {
            let channel = connection.channel
            try await connection.executeThenClose { inbound, outbound in
                // One iterator for the whole connection (the stream allows only one). A client that
                // does not send its request in time is disconnected.
                var incoming = inbound.makeAsyncIterator()
                let deadline = channel.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
                let request: Request
                do {
                    request = try await Self.readRequest(&incoming)
                    deadline.cancel()
                } catch let error as NodeError {
                    deadline.cancel()
                    try await outbound.write(Self.header(["ok": false, "code": error.code.rawValue, "message": error.message]))
                    return
                }
                let opened: MessageAccess.OpenedContent
                do throws(NodeError) {
                    opened = try await access.openContent(request.message, part: request.part, purpose: request.purpose, as: principal)
                } catch {
                    try await outbound.write(Self.header(["ok": false, "code": error.code.rawValue, "message": error.message]))
                    return
                }
                try await outbound.write(Self.header(["ok": true, "file_name": opened.fileName, "content_type": opened.contentType,
                                                      "size": opened.size, "access_seq": opened.accessSeq]))
                // Each chunk is sent as it is read; the reader checks the hash at the end and
                // throws before the last chunk when the content was altered (the client is cut off).
                while let chunk = try opened.reader.next() {
                    try await outbound.write(ByteBuffer(bytes: chunk))
                }
                // The end of the answer; the client closes once it has read it (at most a minute).
                outbound.finish()
                let linger = channel.eventLoop.scheduleTask(in: .seconds(60)) { channel.close(promise: nil) }
                defer { linger.cancel() }
                while try await incoming.next() != nil {}
            }
        } catch {
            logger.notice("read socket: a read ended early", metadata: ["actor": .string(principal.actor), "error": .string("\(error)")])
        }
    }

    struct Request {
        var message: String
        var part: MessageAccess.Part
        var purpose: String?
    }

    /// The first line the client sends, parsed; at most ``maxRequest`` bytes.
    private static func readRequest(_ incoming: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) async throws -> Request {
        var line: [UInt8] = []
        reading: while let chunk = try await incoming.next() {
            for byte in chunk.readableBytesView {
                if byte == UInt8(ascii: "\n") { break reading }
                line.append(byte)
                if line.count > maxRequest { throw NodeError(.invalidRequest, "the request is longer than \(maxRequest) bytes") }
            }
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
              let message = object["message"] as? String, !message.isEmpty, message.count <= 200 else {
            throw NodeError(.invalidRequest, "the request is not one line of JSON naming a message")
        }
        var part = MessageAccess.Part.message
        if let a = object["attachment"] {
            guard let n = a as? Int, (0...10_000).contains(n) else { throw NodeError(.invalidRequest, "attachment must be 0–10000") }
            part = .attachment(n)
        }
        let purpose = object["purpose"] as? String
        if let purpose, purpose.count > 200 { throw NodeError(.invalidRequest, "purpose is at most 200 characters") }
        return Request(message: message, part: part, purpose: purpose)
    }

    private static func header(_ object: [String: Any]) throws -> ByteBuffer {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: data)
    }

    /// Counts the connections being served.
    private final class Slots: Sendable {
        private let used: Mutex<Int>
        private let max: Int
        init(max: Int) {
            self.max = max
            used = Mutex(0)
        }
        func take() -> Bool { used.withLock { n in guard n < max else { return false }; n += 1; return true } }
        func give() { used.withLock { $0 -= 1 } }
    }
}
