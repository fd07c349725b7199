import Foundation
package import Ledger

/// What the node keeps about webhooks outside the ledger, in its own LMDB environment
/// `<node>/webhooks` (directory mode 0700, files 0600): the signing secrets by fingerprint (the
/// ledger names them by SHA-256 only) and each webhook's ``WebhookProgress``. A backup of the
/// node must include it; without it the secrets are lost (rotate them) and deliveries restart
/// from each webhook's creation (receivers deduplicate by `webhook-id`).
package final class WebhookStore: Sendable {
    /// The folder inside the node directory.
    package static let folder = "webhooks"
    private static let secrets = "secrets", progress = "progress"
    private let store: KeyValueStore

    package init(node directory: String) throws(LedgerError) {
        store = try KeyValueStore(path: directory + "/" + Self.folder, tables: [Self.secrets, Self.progress], initialMapSize: 8 << 20)
    }

    /// Stores `secret` (before the event naming it is appended: a crash in between leaves an unused secret).
    package func put(_ secret: WebhookSecret) throws {
        try store.write { w in try w.put(Self.secrets, Array(secret.sha256.utf8), secret.key) }
    }

    /// The secret whose fingerprint is `sha256`.
    package func secret(_ sha256: String) throws -> WebhookSecret? {
        try store.read { r in try r.get(Self.secrets, Array(sha256.utf8)).map(WebhookSecret.init(key:)) }
    }

    /// Forgets secrets (a deleted webhook's, or those whose overlap ended).
    package func removeSecrets(_ fingerprints: [String]) throws {
        try store.write { w in for f in fingerprints { _ = try w.delete(Self.secrets, Array(f.utf8)) } }
    }

    /// The progress of webhook `id`, nil before its first delivery.
    package func progress(_ id: UInt64) throws -> WebhookProgress? {
        try store.read { r in
            try r.get(Self.progress, Self.key(id)).map { try JSONDecoder().decode(WebhookProgress.self, from: Data($0)) }
        }
    }

    /// Durably records the progress of webhook `id`.
    package func save(_ progress: WebhookProgress, for id: UInt64) throws {
        let bytes = Array(try JSONEncoder().encode(progress))
        try store.write { w in try w.put(Self.progress, Self.key(id), bytes) }
    }

    /// Moves every webhook's position that is beyond `seq` back to it, with a fresh retry state
    /// (a backup's copy of this store, taken after its ledger copy: deliveries resume from the
    /// backup's head, at least once). Returns how many were moved.
    package func clampProgress(to seq: UInt64) throws -> Int {
        try store.write { w in
            var moved: [([UInt8], WebhookProgress)] = []
            try w.reader.scan(Self.progress, from: nil) { key, value in
                var p = try JSONDecoder().decode(WebhookProgress.self, from: Data(value))
                if p.position > seq {
                    p.position = seq
                    p.retry = WebhookRetry()
                    moved.append((key, p))
                }
                return true
            }
            for (key, p) in moved { try w.put(Self.progress, key, Array(try JSONEncoder().encode(p))) }
            return moved.count
        }
    }

    private static func key(_ id: UInt64) -> [UInt8] { withUnsafeBytes(of: id.bigEndian) { Array($0) } }
}
