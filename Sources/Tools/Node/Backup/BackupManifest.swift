package import Foundation

/// `manifest.json` of a backup (`kvitto-backup/2`): what was copied, from which node, up to which
/// ledger position, and the SHA-256 of every file except the blobs (whose names are their SHA-256).
/// `kvitto restore` checks a backup against it before it copies anything. Documented in
/// `Schemas/backup.md`.
package struct BackupManifest: Codable, Sendable, Equatable {
    package static let fileName = "manifest.json"
    package static let formatName = "kvitto-backup/2"
    /// Formats `restore` reads: `/1` held every blob as a file (its ledger file may hold the small
    /// ones as rows too); `/2` keeps small blobs only as rows of its ledger file.
    package static let readableFormats: Set<String> = ["kvitto-backup/1", formatName]

    package var format: String
    /// The node's name (its `kvitto.json`).
    package var node: String
    /// When the backup was taken (RFC 3339, UTC).
    package var created: String
    package var ledger: LedgerPosition
    /// Every file of the backup but the blobs and this manifest, by path relative to the backup.
    package var files: [File]
    package var blobs: Blobs
    /// True when private keys were copied (under `keys/`).
    package var keys: Bool
    /// Paths the configuration names outside the node directory: not copied.
    package var external: [String]

    /// The copied ledger's head and its newest checkpoint.
    package struct LedgerPosition: Codable, Sendable, Equatable {
        /// The ledger's folder, relative to the node directory and to the backup (`ledger`).
        package var path: String
        package var ledgerId: String?
        package var headSeq: UInt64
        package var headHash: String
        package var checkpointSeq: UInt64?
        package var checkpointTreeSize: UInt64?
        package var checkpointRoot: String?
    }

    package struct File: Codable, Sendable, Equatable {
        /// Relative to the backup; under `keys/` for private keys (their path in the node below it).
        package var path: String
        package var role: Role
        package var size: Int64
        package var sha256: String
    }

    /// What a file is: node state (ledger, projections, webhooks, queued submissions),
    /// configuration (`kvitto.json`, certificates, trust folders), or a private key.
    package enum Role: String, Codable, Sendable {
        case state, config, key
    }

    package struct Blobs: Codable, Sendable, Equatable {
        /// Distinct blobs the ledger references that are files, copied (content re-hashed on the way).
        package var copied: Int
        package var bytes: Int64
        /// Erased before the backup: their erasure markers were copied.
        package var erased: Int
        /// Distinct blobs the ledger references that are rows of the ledger file (small blobs), held
        /// by its copy; absent in backups made before small blobs moved into the ledger file.
        package var inline: Int?
    }

    /// Reads the manifest of the backup in `directory`.
    package static func load(backup directory: String) throws(NodeError) -> BackupManifest {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError(.backupInvalid, "\(path) does not exist: \(directory) is not a Kvitto backup (made by `kvitto backup`)")
        }
        let manifest: BackupManifest
        do { manifest = try decoder.decode(BackupManifest.self, from: data) } catch {
            throw NodeError(.backupInvalid, "\(path) is not a backup manifest: \(error)")
        }
        guard readableFormats.contains(manifest.format) else {
            throw NodeError(.backupInvalid, "\(path): format \"\(manifest.format)\" is not one this version reads (\(readableFormats.sorted().joined(separator: ", "))); restore it with the Kvitto version that made it")
        }
        try manifest.validate(path)
        return manifest
    }

    /// Where `file` goes in a node directory: its path, without `keys/` for a private key.
    package static func target(of file: File) -> String {
        file.role == .key ? String(file.path.dropFirst("keys/".count)) : file.path
    }

    /// Refuses a manifest that could place a file outside the node, put two files in one place,
    /// file a private key outside `keys/` (or anything else inside it), or lacks the ledger.
    func validate(_ path: String) throws(NodeError) {
        func refuse(_ why: String) -> NodeError { NodeError(.backupInvalid, "\(path): \(why); refusing the backup") }
        guard BackupPath.isSafe(ledger.path) else { throw refuse("the ledger path \"\(ledger.path)\" leaves the backup") }
        var targets: Set<String> = []
        for f in files {
            guard BackupPath.isSafe(f.path) else { throw refuse("\"\(f.path)\" is a path outside the backup") }
            guard (f.role == .key) == f.path.hasPrefix("keys/") else { throw refuse("\"\(f.path)\" is a \(f.role.rawValue) file; keys, and only keys, are under keys/") }
            let target = Self.target(of: f)
            guard BackupPath.isSafe(target), targets.insert(target).inserted else { throw refuse("two files go to \"\(target)\"") }
        }
        guard files.contains(where: { $0.role == .state && $0.path == ledger.path + "/data.mdb" }) else {
            throw refuse("it lists no \(ledger.path)/data.mdb, the ledger")
        }
    }

    /// Writes the manifest into `directory` (flushed).
    package func save(backup directory: String) throws(NodeError) {
        let data: Data
        do { data = try Self.encoder.encode(self) } catch { throw NodeError(.storage, "encoding the manifest: \(error)") }
        try BackupPath.writeDurably(Array(data), to: directory + "/" + Self.fileName)
    }

    private static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
