package import Foundation
import Ledger
import Projections

/// `kvitto backup`: a consistent copy of a node — running or stopped — that `kvitto restore` turns
/// back into a node.
///
/// Consistent without stopping anything, because of the order of the copies: first what is
/// derived from the ledger or waits to enter it (queued submissions, the projections, the webhook
/// positions), then the ledger — one LMDB read transaction, compacted — and then, from that copy,
/// exactly the blobs its events reference (re-hashed on the way). So nothing in the backup is ahead
/// of its ledger: a projection at an older seq catches up after a restore, a submission already in
/// the ledger is recognised by its request id, and every blob of the copy is there. Then the
/// configuration, the private keys only when asked (under `keys/`, to be kept apart), the manifest,
/// and ``BackupCheck`` on what was written.
package struct NodeBackup {
    package let node: String
    package let destination: String
    package var includeKeys = false

    package init(node: String, to destination: String, includeKeys: Bool = false) {
        self.node = node
        self.destination = destination
        self.includeKeys = includeKeys
    }

    package struct Result: Sendable {
        package var manifest: BackupManifest
        package var check: BackupCheck.Report
        /// Files of the node directory not copied (symbolic links, sockets).
        package var skipped: [String]
        /// Private keys left out (no `--include-keys`).
        package var keysLeftOut: [String]
        /// Bytes written, all files and blobs.
        package var bytes: Int64
        package var seconds: Double
    }

    package func run() throws(NodeError) -> Result {
        let start = Date()
        let config = try NodeConfig.load(directory: node)
        let ledgerFolder = try Self.ledgerFolder(config, node: node)
        let files = try NodeFiles(node: node, config: config, ledgerFolder: ledgerFolder)
        try Self.requireEmpty(destination)
        try BackupPath.makeDirectory(destination)
        var entries: [BackupManifest.File] = []
        var bytes: Int64 = 0
        func add(_ path: String, _ role: BackupManifest.Role, _ digest: (size: Int64, sha256: String)) {
            entries.append(.init(path: path, role: role, size: digest.size, sha256: digest.sha256))
            bytes += digest.size
        }

        // 1. What must not be ahead of the ledger copy.
        for path in files.state {
            add(path, .state, try BackupPath.copy(node + "/" + path, to: destination + "/" + path))
        }
        for folder in [NodeProjectionStore.folder, WebhookStore.folder]
        where FileManager.default.fileExists(atPath: node + "/" + folder + "/data.mdb") {
            try BackupPath.makeDirectory(destination + "/" + folder)
            do { try KeyValueStore.copy(storeAt: node + "/" + folder, to: destination + "/" + folder) } catch {
                throw NodeError(.storage, "copying \(folder): \(error)")
            }
            add(folder + "/data.mdb", .state, try BackupPath.digest(destination + "/" + folder + "/data.mdb"))
        }

        // 2. The ledger, then the blobs its copy references.
        let ledger: Ledger
        do { ledger = try Ledger.open(at: node + "/" + ledgerFolder, options: BackupCheck.readOnly) } catch {
            throw NodeError(.storage, "opening the ledger of \(node): \(error)")
        }
        defer { ledger.close() }
        try BackupPath.makeDirectory(destination + "/" + ledgerFolder)
        do { try ledger.copy(to: destination + "/" + ledgerFolder) } catch { throw NodeError(.storage, "\(error)") }
        add(ledgerFolder + "/data.mdb", .state, try BackupPath.digest(destination + "/" + ledgerFolder + "/data.mdb"))
        let (head, references, ledgerID) = try BackupCheck.withLedger(at: destination + "/" + ledgerFolder) {
            (copy) throws(NodeError) -> (LedgerHead, [BlobRef], String?) in
            let head: LedgerHead
            do { head = try copy.head() } catch { throw NodeError(.storage, "reading the ledger copy's head: \(error)") }
            return (head, try BackupCheck.referencedBlobs(copy), (try? copy.event(1))??.payload["ledger_id"]?.stringValue)
        }
        let copier = BlobCopier(from: ledger.blobs, to: BlobStore(directory: destination + "/" + ledgerFolder + "/blobs"))
        do { try copier.copy(references) } catch {
            throw NodeError(.storage, "copying a blob the ledger references: \(error); run `kvitto ledger verify` on the node")
        }
        do { try copier.finish() } catch { throw NodeError(.storage, "\(error)") }
        bytes += copier.bytes

        // 3. Configuration and, when asked, keys.
        for path in files.config {
            add(path, .config, try BackupPath.copy(node + "/" + path, to: destination + "/" + path))
        }
        if includeKeys {
            for path in files.keys {
                add("keys/" + path, .key, try BackupPath.copy(node + "/" + path, to: destination + "/keys/" + path))
            }
        }
        BackupPath.syncDirectory(destination)

        let manifest = BackupManifest(
            format: BackupManifest.formatName, node: config.name, created: Timestamp.now().rfc3339,
            ledger: .init(path: ledgerFolder, ledgerId: ledgerID, headSeq: head.seq, headHash: head.hash.hex,
                          checkpointSeq: head.checkpoint?.event.seq, checkpointTreeSize: head.checkpoint?.treeSize,
                          checkpointRoot: head.checkpoint?.root.hex),
            files: entries, blobs: .init(copied: copier.copied, bytes: copier.bytes, erased: copier.erased),
            keys: includeKeys, external: files.external)
        try manifest.save(backup: destination)

        // 4. Read back what was written.
        let check = try BackupCheck(backup: destination).run()
        return Result(manifest: manifest, check: check, skipped: files.skipped, keysLeftOut: includeKeys ? [] : files.keys,
                      bytes: bytes, seconds: Date().timeIntervalSince(start))
    }

    /// The ledger's folder relative to the node directory; a ledger elsewhere is refused.
    static func ledgerFolder(_ config: NodeConfig, node: String) throws(NodeError) -> String {
        let root = URL(fileURLWithPath: node).standardizedFileURL.path
        let ledger = URL(fileURLWithPath: NodeConfig.resolve(config.ledger, in: node)).standardizedFileURL.path
        guard ledger.hasPrefix(root + "/") else {
            throw NodeError(.configInvalid, "the ledger (\(config.ledger)) is outside the node directory; back it up with the node's folder layout (`kvitto init`)")
        }
        return String(ledger.dropFirst(root.count + 1))
    }

    /// `directory` must not exist, or be an empty folder: a backup never mixes with other files.
    static func requireEmpty(_ directory: String) throws(NodeError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return }
        let content = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
        guard isDirectory.boolValue, content.isEmpty else {
            throw NodeError(.exists, "\(directory) exists and is not an empty folder; choose a new one")
        }
    }
}
