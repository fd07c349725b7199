package import Foundation
import Ledger
package import Projections
import Transport

/// How `kvitto send` hands a message to a running node (which holds the ledger's writer lock):
/// a request file in `<node>/submissions/`, written atomically; the node submits it, records the
/// request id in `message.submitted` (so a request is never submitted twice, even across a
/// crash) and answers with `<id>.result.json`.
///
/// The submitter recorded as the event's actor is the owner of the request file as the kernel
/// reports it (``OSUser``), never a name written in the file. A request that fails for a reason
/// on the node's side (storage) is retried with backoff (``retryDelays``); after the last retry
/// it is moved to `<node>/submissions/failed/` with a `.reason.json` beside it, and the waiting
/// `kvitto send` gets the error.
package enum SubmissionSpool {
    package static func directory(_ node: String) -> String { node + "/submissions" }
    package static func failedDirectory(_ node: String) -> String { directory(node) + "/failed" }

    /// Waits before each retry of a request that failed on the node's side; after the last one
    /// the request is moved to `failed/`.
    package static let retryDelays: [TimeInterval] = [1, 2, 5, 10, 30, 60]

    /// Writes a request for `m`; returns its id. When the node encrypts such content at rest,
    /// the request is sealed too (`Schemas/content-at-rest.md`): under a new data key wrapped by
    /// the sender participant's key-encryption key, which this process must then be able to read.
    package static func request(_ m: OutboundMessage, node: String) throws(NodeError) -> String {
        let id = UUID().uuidString.lowercased()
        let config = try NodeConfig.load(directory: node)
        var object = Self.object(m)
        if let c = config.contentEncryption, c.covers(confidential: m.confidential) {
            let vault = ContentVault(config: config, directory: node, blobs: BlobStore(directory: node + "/unused"))
            let kek = try vault.keyEncryptionKey(m.from.participant)
            let dataKey = DataKey.random()
            do {
                let plain = try JSONSerialization.data(withJSONObject: object)
                let wrapped = try WrappedDataKey.wrap(dataKey, with: kek, participant: m.from.participant, message: sealContext(id))
                object = ["sealed_for": m.from.participant, "key": Data(wrapped).base64EncodedString(),
                          "sealed": Data(try dataKey.seal(Array(plain), context: Array(sealContext(id).utf8))).base64EncodedString()]
            } catch {
                throw NodeError(.storage, "sealing the submission request: \(error)")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: directory(node), withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: object)
            let tmp = directory(node) + "/.\(id).tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw NodeError(.storage, "cannot write \(tmp)")
            }
            try FileManager.default.moveItem(atPath: tmp, toPath: directory(node) + "/\(id).json")
        } catch let e as NodeError { throw e } catch {
            throw NodeError(.storage, "writing the submission request: \(error)")
        }
        return id
    }

    /// A request's JSON object (`Schemas/control-socket.md`, "Sending").
    package static func object(_ m: OutboundMessage) -> [String: Any] {
        var object: [String: Any] = [
            "from": m.from.description, "to": m.to.description, "texts": m.texts, "confidential": m.confidential,
            "attachments": m.attachments.map { ["file_name": $0.fileName, "content_type": $0.contentType,
                                                "content_base64": Data($0.content).base64EncodedString()] },
        ]
        if let label = m.label { object["label"] = label }
        if let reference = m.reference { object["reference"] = reference }
        if let conversation = m.conversation { object["conversation"] = conversation }
        return object
    }

    /// The message a request's JSON object describes; `source` names it in errors.
    package static func message(_ o: [String: Any], source: String) throws(NodeError) -> OutboundMessage {
        guard let from = (o["from"] as? String).flatMap(FunctionalAddress.init), let to = (o["to"] as? String).flatMap(FunctionalAddress.init) else {
            throw NodeError(.invalidMessage, "\(source): from and to must be functional addresses (function@participant)")
        }
        var attachments: [OutboundMessage.Attachment] = []
        for a in o["attachments"] as? [[String: Any]] ?? [] {
            guard let name = a["file_name"] as? String, let b64 = a["content_base64"] as? String, let bytes = Data(base64Encoded: b64) else {
                throw NodeError(.invalidMessage, "\(source): an attachment needs file_name and content_base64")
            }
            attachments.append(.init(fileName: name, contentType: a["content_type"] as? String ?? "application/octet-stream", content: Array(bytes)))
        }
        return OutboundMessage(from: from, to: to, label: o["label"] as? String, texts: o["texts"] as? [String] ?? [],
                               attachments: attachments, confidential: o["confidential"] as? Bool ?? false,
                               reference: o["reference"] as? String, conversation: o["conversation"] as? String)
    }

    /// What a sealed request's key and body are bound to.
    static func sealContext(_ id: String) -> String { "submission:" + id }

    /// Waits (bounded) for the node's answer to request `id`: the message id, or the node's error.
    package static func awaitResult(_ id: String, node: String, timeout: TimeInterval) async throws(NodeError) -> String {
        let path = directory(node) + "/\(id).result.json"
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: path),
               let o = try? JSONSerialization.jsonObject(with: data) as? [String: String] {
                try? FileManager.default.removeItem(atPath: path)
                if let message = o["message_id"] { return message }
                throw NodeError(NodeError.Code(rawValue: o["code"] ?? "") ?? .invalidMessage, o["error"] ?? "refused")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        throw NodeError(.storage, "the node did not take request \(id) within \(Int(timeout)) s; it stays queued in \(directory(node)) and is submitted when the node runs")
    }
}

/// Retry state of spooled requests that failed on the node's side (in memory: after a restart a
/// request simply gets its retries again).
struct SpoolRetries: Sendable {
    var failures: [String: (count: Int, next: Date)] = [:]
}

extension Node {
    /// Submits `m` for `principal` (who must hold `send` on its sender's mailbox) as request
    /// `request`: a request already submitted answers the message id it got then, so a request
    /// handed over twice (a retry after a lost answer) is one message.
    package func submit(_ m: OutboundMessage, as principal: Principal, request: String) async throws(NodeError) -> String {
        if let done = try read({ try $0.submission(request) }) { return done }
        try await access.authorizeSend(from: m.from, as: principal)
        return try await submit(m, actor: principal.actor, submissionID: request)
    }

    /// Submits every waiting request in `<node>/submissions/` (called by the workers).
    package func processSubmissions(now: Date = Date()) async {
        let dir = SubmissionSpool.directory(directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasSuffix(".result.json") && !name.hasPrefix(".") {
            let id = String(name.dropLast(5))
            let path = dir + "/" + name
            if let due = spoolRetries.withLock({ $0.failures[id]?.next }), due > now { continue }
            var result: [String: String]
            do {
                if let done = try read({ try $0.submission(id) }) {
                    result = ["message_id": done]
                } else {
                    guard let owner = OSUser.owner(ofFile: path), owner.isRegularFile else {
                        throw NodeError(.invalidMessage, "\(path) is not a regular file")
                    }
                    result = ["message_id": try await submit(try parseRequest(path, id: id), as: owner.principal, request: id)]
                }
            } catch let e as NodeError where e.code != .storage && e.code != .contentKeyUnavailable {
                result = ["code": e.code.rawValue, "error": e.message]
            } catch {
                // A failure on our side: retry later with backoff, and give up visibly at the end.
                let attempt = spoolRetries.withLock { r -> Int in
                    let n = (r.failures[id]?.count ?? 0) + 1
                    let delays = SubmissionSpool.retryDelays
                    r.failures[id] = (n, now.addingTimeInterval(n <= delays.count ? delays[n - 1] : 0))
                    return n
                }
                logger.error("submission request failed", metadata: ["request": .string(id), "attempt": .stringConvertible(attempt),
                                                                     "error": .string("\(error)")])
                guard attempt > SubmissionSpool.retryDelays.count else { continue }
                moveToFailed(id: id, path: path, reason: "\(error)")
                result = ["code": (error as? NodeError)?.code.rawValue ?? NodeError.Code.storage.rawValue,
                          "error": "the node could not submit the request after \(attempt) attempts (\(error)); it was moved to \(SubmissionSpool.failedDirectory(directory))"]
            }
            spoolRetries.withLock { _ = $0.failures.removeValue(forKey: id) }
            let data = (try? JSONSerialization.data(withJSONObject: result)) ?? Data()
            guard FileManager.default.createFile(atPath: dir + "/\(id).result.json", contents: data, attributes: [.posixPermissions: 0o600]) else {
                logger.error("cannot write the submission result", metadata: ["request": .string(id)])
                continue
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    private func moveToFailed(id: String, path: String, reason: String) {
        let failed = SubmissionSpool.failedDirectory(directory)
        do {
            try FileManager.default.createDirectory(atPath: failed, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: path, toPath: failed + "/\(id).json")
            let data = try JSONSerialization.data(withJSONObject: ["request": id, "reason": reason,
                                                                   "failed_at": AS4Time.string(Date())])
            let noted = FileManager.default.createFile(atPath: failed + "/\(id).reason.json", contents: data, attributes: [.posixPermissions: 0o600])
            logger.error("submission request given up; moved to failed/",
                         metadata: ["request": .string(id), "reason": .string(reason), "reason_file": .string(noted ? "written" : "not written")])
        } catch {
            logger.error("cannot move a failed submission request", metadata: ["request": .string(id), "error": .string("\(error)")])
        }
    }

    private func parseRequest(_ path: String, id: String) throws(NodeError) -> OutboundMessage {
        guard let data = FileManager.default.contents(atPath: path),
              var o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NodeError(.invalidMessage, "\(path) is not a JSON object")
        }
        if let sealed = o["sealed"] {
            // Sealed by `kvitto send` under the sender participant's key-encryption key.
            guard let participant = o["sealed_for"] as? String, let key = (o["key"] as? String).flatMap({ Data(base64Encoded: $0) }),
                  let body = (sealed as? String).flatMap({ Data(base64Encoded: $0) }) else {
                throw NodeError(.invalidMessage, "\(path): a sealed request needs sealed_for, key and sealed")
            }
            let kek = try vault.keyEncryptionKey(participant)
            let plain: [UInt8]
            do {
                let dataKey = try WrappedDataKey.unwrap(Array(key), with: kek, participant: participant, message: SubmissionSpool.sealContext(id))
                plain = try dataKey.open(Array(body), context: Array(SubmissionSpool.sealContext(id).utf8))
            } catch {
                if error.code == .contentKeyUnavailable { throw NodeError(.contentKeyUnavailable, error.message) }
                throw NodeError(.invalidMessage, "\(path): the sealed request does not open (\(error.message))")
            }
            guard let inner = try? JSONSerialization.jsonObject(with: Data(plain)) as? [String: Any],
                  (inner["from"] as? String).flatMap(FunctionalAddress.init)?.participant == participant else {
                throw NodeError(.invalidMessage, "\(path): the sealed request is not a request from \(participant)")
            }
            o = inner
        }
        return try SubmissionSpool.message(o, source: path)
    }
}
