package import Foundation
package import Logging
package import NIOCore
import Ledger
import NIOPosix
package import Projections
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's way into a running node (`kvitto serve` holds the ledger for writing): a Unix domain
/// socket at `<node>/run/control.sock` (`Schemas/control-socket.md`) for audited content reads
/// (`kvitto read`) and for the writing commands (``AdminOperation``: grant, revoke, address book,
/// erase, participants, routes, content keys, the ledger's checkpoint and key). The caller is the user the kernel reports for the connection (`SO_PEERCRED`:
/// `os:<user>`), never a name the request carries; what it may do is decided by the grants, and
/// reads and refusals are recorded exactly as when the CLI holds the ledger itself. Who can connect
/// is decided by the node directory's permissions (the socket itself is open to every user who can
/// reach it).
///
/// The client sends one line of JSON ended by a newline, at most ``maxRequest`` bytes (a send
/// request, `kvitto send`, has its own limit, ``maxSendBytes``). A read request,
/// `{"message": ID, "attachment": N?, "purpose": TEXT?}`, is answered by one line of JSON —
/// `{"ok": true, "file_name", "content_type", "size", "sha256", "access_seq"}` followed by exactly
/// `size` bytes — the last chunk sent only after the content passed its check. An administration
/// request, `{"operation": NAME, …}`, is answered by `{"ok": true, "text", "result"}`. A refusal is
/// `{"ok": false, "code", "message"}`. The node then ends the stream.
package struct ControlSocket: Sendable {
    package let access: MessageAccess
    package let path: String
    /// The node directory.
    package let directory: String
    package let logger: Logger
    /// Connections served at once, in all and per user; more are closed at once.
    package var maxConnections = 64
    package var maxConnectionsPerUser = 4
    /// A client must send its request within this time.
    package var requestTimeout: TimeAmount = .seconds(10)

    /// Submits a message for a user (`kvitto send`): the node's ``Node/submit(_:as:request:)``;
    /// nil when the socket takes no messages.
    package var submitter: (@Sendable (OutboundMessage, Principal, String) async throws(NodeError) -> String)?
    /// Largest send request body (the request's JSON with its attachments in base64).
    package var maxSendBytes = 300 << 20

    /// The running node's participants, replaced by `participant.*` operations.
    package var participants: ParticipantRoster?
    /// The running node's routing table, replaced by `route.add`, and its trust reload.
    package var routes: StaticRoutingTable?
    package var reloadTrust: (@Sendable () -> [String])?

    package init(access: MessageAccess, node: String, logger: Logger) {
        self.access = access
        self.directory = node
        self.path = Self.path(node: node)
        self.logger = logger
    }

    /// Where the socket of the node in `node` is.
    package static func path(node: String) -> String { node + "/run/control.sock" }

    /// Largest request line (1 MiB: a participant command carries an O2O key and its chain, a
    /// route the CA certificates and CRLs to trust).
    static let maxRequest = 1 << 20

    /// Serves until the task is cancelled. When the socket cannot be made or stops accepting, the
    /// node logs it and tries again (after 1 s, doubling to a minute) — it never ends the node.
    package func runUntilCancelled() async {
        var wait = 1.0
        while !Task.isCancelled {
            do {
                try await run()
                guard !Task.isCancelled else { return }
                logger.error("the control socket stopped accepting; it is made again", metadata: ["path": .string(path)])
            } catch {
                guard !Task.isCancelled else { return }
                logger.error("the control socket is not available; kvitto read works only through the API while the node runs",
                             metadata: ["path": .string(path), "error": .string("\(error)")])
            }
            try? await Task.sleep(for: .seconds(wait))
            wait = min(wait * 2, 60)
        }
    }

    /// Serves until the task is cancelled (or the listener ends); the socket file is removed at
    /// the end when it is still ours.
    package func run() async throws {
        let directory = (path as NSString).deletingLastPathComponent
        try Self.checkDirectory(directory)
        // Bound under a name of our own, made accessible, then renamed into place: nobody can
        // substitute the file between the bind and the chmod.
        // (Shorter than the final name: a socket's path may be at most 107 bytes.)
        let temporary = directory + "/.c" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            // A client may end its side once it has asked (shutdown(SHUT_WR)) and still get the answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: temporary, cleanupExistingSocketFile: false) { channel in
                Self.peer(of: channel).flatMapThrowing { uid in
                    // Half-closure: the answer ends with the node's end of the stream once every
                    // byte is out (closing at once could drop bytes still queued).
                    (try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                                 configuration: .init(isOutboundHalfClosureEnabled: true)), uid)
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        var st = stat()
        guard chmod(temporary, 0o666) == 0, lstat(temporary, &st) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = unlink(temporary)
            try? await server.channel.close()
            throw NodeError(.storage, "the control socket cannot be put in place at \(path): \(reason)")
        }
        let inode = st.st_ino
        defer {
            // Removed only while it is still the socket this node made.
            var now = stat()
            if lstat(path, &now) == 0, now.st_ino == inode { _ = unlink(path) }
        }
        let slots = Slots(max: maxConnections, perUser: maxConnectionsPerUser)
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await (connection, uid) in connections {
                        guard slots.take(uid) else {
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            defer { slots.give(uid) }
                            await serve(connection, uid: uid)
                        }
                    }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    /// `directory` made when missing; refused unless it is a real directory of this user that
    /// nobody else may write to (where another user could replace the socket).
    private static func checkDirectory(_ directory: String) throws {
        var st = stat()
        if lstat(directory, &st) != 0 {
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST, lstat(directory, &st) == 0 else {
                throw NodeError(.storage, "\(directory) cannot be made: \(String(cString: strerror(errno)))")
            }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            throw NodeError(.storage, "\(directory) must be a directory of the node's user that no other user may write to (mode 0755)")
        }
    }

    /// The uid of the process at the other end, as the kernel reports it.
    private static func peer(of channel: any Channel) -> EventLoopFuture<uid_t> {
        guard let options = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(NodeError(.storage, "the control socket cannot ask the kernel who connected"))
        }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Linux): three 32-bit fields.
        let credentials: EventLoopFuture<(Int32, UInt32, UInt32)> = options.unsafeGetSocketOption(
            level: .init(rawValue: SOL_SOCKET), name: .init(rawValue: SO_PEERCRED))
        return credentials.map { $0.1 }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, uid: uid_t) async {
        let principal = OSUser.principal(uid: uid)
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                // One iterator for the whole connection (the stream allows only one). A client that
                // does not send its request in time is disconnected.
                var incoming = inbound.makeAsyncIterator()
                let deadline = channel.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
                let request: Request
                do {
                    let (line, rest) = try await Self.readLine(&incoming)
                    deadline.cancel()
                    if let send = try Self.sendRequest(line) {
                        let answer = try await submit(send, rest: rest, incoming: &incoming, channel: channel, as: principal)
                        try await outbound.write(answer)
                        outbound.finish()
                        while try await incoming.next() != nil {}
                        return
                    }
                    if let operation = try Self.administration(line) {
                        try await outbound.write(await administer(operation, as: principal))
                        outbound.finish()
                        while try await incoming.next() != nil {}
                        return
                    }
                    request = try Self.readRequest(line)
                } catch let error as NodeError {
                    deadline.cancel()
                    try await outbound.write(Self.refusal(error))
                    return
                }
                let opened: MessageAccess.OpenedContent
                do throws(NodeError) {
                    opened = try await access.openContent(request.message, part: request.part, purpose: request.purpose, as: principal)
                } catch {
                    try await outbound.write(Self.refusal(error))
                    return
                }
                // A client that stops reading is disconnected: a minute, plus a second per MiB.
                let seconds = 60 + opened.size / (1 << 20)
                let stalled = channel.eventLoop.scheduleTask(in: .seconds(seconds)) { channel.close(promise: nil) }
                defer { stalled.cancel() }
                try await outbound.write(Self.header(["ok": true, "file_name": opened.fileName, "content_type": opened.contentType,
                                                      "size": opened.size, "sha256": opened.sha256.isEmpty ? NSNull() : opened.sha256,
                                                      "access_seq": opened.accessSeq]))
                // One chunk is held back: the reader checks the hash when it reaches the end, so
                // the last chunk leaves only after the whole content passed (an altered one is cut).
                var held: [UInt8]?
                do {
                    while let chunk = try opened.reader.next() {
                        if let previous = held { try await outbound.write(ByteBuffer(bytes: previous)) }
                        held = chunk
                    }
                } catch {
                    logger.error("control socket: the content failed its check and was cut off",
                                 metadata: ["message": .string(request.message), "error": .string("\(error)")])
                    throw error
                }
                if let last = held { try await outbound.write(ByteBuffer(bytes: last)) }
                // The end of the answer; the client closes once it has read it.
                outbound.finish()
                while try await incoming.next() != nil {}
            }
        } catch {
            logger.notice("control socket: a read ended early", metadata: ["actor": .string(principal.actor), "error": .string("\(error)")])
        }
    }

    struct Request {
        var message: String
        var part: MessageAccess.Part
        var purpose: String?
    }

    /// Runs an administration request as `principal`; the answer line (`ok`, `text`, `result`, or
    /// the refusal).
    private func administer(_ operation: AdminOperation, as principal: Principal) async throws -> ByteBuffer {
        do throws(NodeError) {
            var target = AdminTarget(access: access, directory: directory, participants: participants)
            target.routes = routes
            target.reloadTrust = reloadTrust
            let outcome = try await operation.perform(target, as: principal)
            logger.info("control socket: administration", metadata: ["operation": .string(operation.name), "actor": .string(principal.actor)])
            return Self.answer(text: outcome.text, result: outcome.result)
        } catch {
            logger.notice("control socket: administration refused",
                          metadata: ["operation": .string(operation.name), "actor": .string(principal.actor), "code": .string(error.code.rawValue)])
            return try Self.refusal(error)
        }
    }

    /// The administration request in `line`, or nil when the line is a read request (it has no
    /// `operation`).
    private static func administration(_ line: [UInt8]) throws(NodeError) -> AdminOperation? {
        guard let value = try? JSONParser.parse(line), value["operation"] != nil else { return nil }
        return try AdminOperation(json: value)
    }

    /// The first line the client sends, and what followed it in the same read; at most
    /// ``maxRequest`` bytes, ended by a newline (a line cut off — the client gone, the deadline
    /// passed — is no request).
    private static func readLine(_ incoming: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) async throws
        -> (line: [UInt8], rest: [UInt8])
    {
        var line: [UInt8] = []
        while let chunk = try await incoming.next() {
            let view = chunk.readableBytesView
            if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
                line += view[..<newline]
                guard line.count <= maxRequest else { break }
                return (line, Array(view[view.index(after: newline)...]))
            }
            line += view
            guard line.count <= maxRequest else { break }
        }
        guard line.count <= maxRequest else { throw NodeError(.invalidRequest, "the request is longer than \(maxRequest) bytes") }
        throw CancellationError()
    }

    // MARK: sending

    /// A send request's first line: `{"operation": "send", "request": ID, "size": N}`.
    struct SendRequest {
        var request: String
        var size: Int
    }

    /// The send request in `line`, or nil when it is another request.
    private static func sendRequest(_ line: [UInt8]) throws(NodeError) -> SendRequest? {
        guard let value = try? JSONParser.parse(line), value["operation"]?.stringValue == "send" else { return nil }
        guard let o = value.objectValue, Set(o.keys) == ["operation", "request", "size"],
              let request = o["request"]?.stringValue, (1...100).contains(request.count),
              request.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
              let size = o["size"]?.intValue, size > 0 else {
            throw NodeError(.invalidRequest, "send: the line is {\"operation\": \"send\", \"request\": ID (letters, digits, -), \"size\": bytes}")
        }
        return SendRequest(request: request, size: Int(size))
    }

    /// Reads the request's body (exactly `size` bytes after its line), has the node submit it as
    /// `principal`, and returns the answer line.
    private func submit(_ send: SendRequest, rest: [UInt8], incoming: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
                        channel: any Channel, as principal: Principal) async throws -> ByteBuffer {
        guard let submitter else {
            return try Self.refusal(NodeError(.invalidRequest, "this node takes no messages through its control socket"))
        }
        guard send.size <= maxSendBytes else {
            return try Self.refusal(NodeError(.invalidRequest, "the request is \(send.size) bytes; this node takes at most \(maxSendBytes)"))
        }
        // A client that stops sending is disconnected: a minute, plus a second per MiB.
        let stalled = channel.eventLoop.scheduleTask(in: .seconds(Int64(60 + send.size / (1 << 20)))) { channel.close(promise: nil) }
        defer { stalled.cancel() }
        var body = rest
        body.reserveCapacity(send.size)
        while body.count < send.size, let chunk = try await incoming.next() { body += chunk.readableBytesView }
        guard body.count == send.size else {
            if body.count < send.size { throw CancellationError() }  // cut off: nothing was submitted
            return try Self.refusal(NodeError(.invalidRequest, "the request's body is longer than its size"))
        }
        do throws(NodeError) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
                throw NodeError(.invalidMessage, "the request's body is not a JSON object")
            }
            let message = try SubmissionSpool.message(object, source: "request \(send.request)")
            let id = try await submitter(message, principal, send.request)
            logger.info("control socket: message submitted", metadata: ["request": .string(send.request), "message": .string(id),
                                                                       "actor": .string(principal.actor)])
            return Self.answer(text: id, result: ["message_id": .string(id)])
        } catch {
            logger.notice("control socket: submission refused",
                          metadata: ["request": .string(send.request), "actor": .string(principal.actor), "code": .string(error.code.rawValue)])
            return try Self.refusal(error)
        }
    }

    /// A read request, parsed.
    private static func readRequest(_ line: [UInt8]) throws -> Request {
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

    /// The answer line of a change or a submission that was done.
    private static func answer(text: String, result: JSONValue) -> ByteBuffer {
        var line = CanonicalJSON.encode(["ok": .bool(true), "text": .string(text), "result": result])
        line.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: line)
    }

    /// The answer line of a refused request.
    private static func refusal(_ error: NodeError) throws -> ByteBuffer {
        try header(["ok": false, "code": error.code.rawValue, "message": error.message])
    }

    private static func header(_ object: [String: Any]) throws -> ByteBuffer {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: data)
    }

    /// Counts the connections being served, in all and per user.
    private final class Slots: Sendable {
        private let used = Mutex<(all: Int, byUser: [uid_t: Int])>((0, [:]))
        private let max: Int
        private let perUser: Int

        init(max: Int, perUser: Int) {
            self.max = max
            self.perUser = perUser
        }

        func take(_ uid: uid_t) -> Bool {
            used.withLock { u in
                guard u.all < max, u.byUser[uid, default: 0] < perUser else { return false }
                u.all += 1
                u.byUser[uid, default: 0] += 1
                return true
            }
        }

        func give(_ uid: uid_t) {
            used.withLock { u in
                u.all -= 1
                u.byUser[uid, default: 1] -= 1
                if u.byUser[uid] == 0 { u.byUser[uid] = nil }
            }
        }
    }
}
