package import Foundation
import Ledger
import Projections
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto backup`: a consistent copy of a node — running or stopped — that `kvitto restore` turns
/// back into a node.
///
/// Consistent without stopping anything, because of the order of the copies: first what is
/// derived from the ledger or waits to enter it (queued submissions, the projections), then the
/// ledger — one LMDB read transaction, compacted — and from that copy exactly the blobs its events
/// reference (re-hashed on the way; erased ones as markers), then the webhook store (its secrets
/// are stored before the events that name them; positions beyond the copy's head are moved back).
/// So nothing in the backup is ahead of its ledger, and everything the ledger names is in it. Then
/// the configuration, the private keys only when asked (under `keys/`, to be kept apart), one
/// flush, ``BackupCheck`` on what was written, and the manifest last. A failed backup leaves its
/// destination empty.
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
        let created = !FileManager.default.fileExists(atPath: destination)
        try BackupPath.makeDirectory(destination)
        do {
            return try copy(config: config, ledgerFolder: ledgerFolder, files: files, start: start)
        } catch {
            // No partial backup is left to be taken for a complete one (nor keys in it).
            if created {
                try? FileManager.default.removeItem(atPath: destination)
            } else {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: destination)) ?? [] {
                    try? FileManager.default.removeItem(atPath: destination + "/" + name)
                }
            }
            throw error
        }
    }

    private func copy(config: NodeConfig, ledgerFolder: String, files: NodeFiles, start: Date) throws(NodeError) -> Result {
        var entries: [BackupManifest.File] = []
        var bytes: Int64 = 0
        func add(_ path: String, _ role: BackupManifest.Role, _ digest: (size: Int64, sha256: String)) {
            entries.append(.init(path: path, role: role, size: digest.size, sha256: digest.sha256))
            bytes += digest.size
        }
        // A derived store a machine stop may have damaged is left out (the restored node refolds it).
        func copyStore(_ folder: String, derived: Bool = false) throws(NodeError) {
            guard FileManager.default.fileExists(atPath: node + "/" + folder + "/data.mdb") else { return }
            try BackupPath.makeDirectory(destination + "/" + folder)
            do {
                guard try KeyValueStore.copy(storeAt: node + "/" + folder, to: destination + "/" + folder, derived: derived) else {
                    try? FileManager.default.removeItem(atPath: destination + "/" + folder)
                    return
                }
            } catch {
                throw NodeError(.storage, "copying \(folder): \(error)")
            }
            chmod(destination + "/" + folder + "/data.mdb", 0o600)
        }

        // 1. What must not be ahead of the ledger copy: queued submissions (a request already
        //    taken is gone or in the ledger; one being written or answered is not copied) and the
        //    projections.
        for path in files.state {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".result.json") { continue }
            do { add(path, .state, try BackupPath.copy(node + "/" + path, to: destination + "/" + path)) } catch {
                if FileManager.default.fileExists(atPath: node + "/" + path) { throw error }
                try? FileManager.default.removeItem(atPath: destination + "/" + path)  // taken by the node meanwhile
            }
        }
        try copyStore(NodeProjectionStore.folder, derived: true)

        // 2. The ledger, then the blobs its copy references (erased ones as markers).
        let ledger: Ledger
        do { ledger = try Ledger.open(at: node + "/" + ledgerFolder, options: BackupCheck.readOnly) } catch {
            throw NodeError(.storage, "opening the ledger of \(node): \(error)")
        }
        defer { ledger.close() }
        try BackupPath.makeDirectory(destination + "/" + ledgerFolder)
        do { try ledger.copy(to: destination + "/" + ledgerFolder) } catch { throw NodeError(.storage, "\(error)") }
        chmod(destination + "/" + ledgerFolder + "/data.mdb", 0o600)
        let (head, references, rows, erased, ledgerID) = try BackupCheck.withLedger(at: destination + "/" + ledgerFolder) {
            (copy) throws(NodeError) -> (LedgerHead, [BlobRef], [Digest32], [Digest32: String], String?) in
            let head: LedgerHead
            do { head = try copy.head() } catch { throw NodeError(.storage, "reading the ledger copy's head: \(error)") }
            // Small blobs are rows of the ledger file, so the copy already holds them; only the
            // blobs kept as files are copied as files.
            let (files, rows, erased) = try BackupCheck.referencedBlobs(copy)
            return (head, files, rows, erased, (try? copy.event(1))??.payload["ledger_id"]?.stringValue)
        }
        add(ledgerFolder + "/data.mdb", .state, try BackupPath.digest(destination + "/" + ledgerFolder + "/data.mdb"))
        let copier = BlobCopier(from: ledger.blobs, to: BlobStore(directory: destination + "/" + ledgerFolder + "/blobs"))
        do { try copier.copy(references, erased: erased) } catch {
            throw NodeError(.storage, "copying a blob the ledger references: \(error); if it was erased while the backup ran, run the backup again")
        }
        // A small blob the node erased after the copy's read transaction is still a row of the
        // copy: like an erased file above, the backup must not keep what the node no longer holds.
        if let gone = rows.first(where: { !ledger.blobs.holdsInline($0) }) {
            throw NodeError(.storage, "blob \(gone) was erased while the backup ran; run the backup again")
        }
        bytes += copier.bytes

        // 3. The webhook store after the ledger: a secret is stored before the event that names it,
        //    so every secret the copy names is in it; positions beyond the copy's head move back to it.
        try copyStore(WebhookStore.folder)
        if FileManager.default.fileExists(atPath: destination + "/" + WebhookStore.folder + "/data.mdb") {
            do {
                _ = try WebhookStore(node: destination).clampProgress(to: head.seq)
            } catch { throw NodeError(.storage, "adjusting the webhook positions of the copy: \(error)") }
            unlink(destination + "/" + WebhookStore.folder + "/lock.mdb")
            add(WebhookStore.folder + "/data.mdb", .state, try BackupPath.digest(destination + "/" + WebhookStore.folder + "/data.mdb"))
        }
        if FileManager.default.fileExists(atPath: destination + "/" + NodeProjectionStore.folder + "/data.mdb") {
            add(NodeProjectionStore.folder + "/data.mdb", .state, try BackupPath.digest(destination + "/" + NodeProjectionStore.folder + "/data.mdb"))
        }

        // 4. Configuration and, when asked, keys.
        for path in files.config {
            add(path, .config, try BackupPath.copy(node + "/" + path, to: destination + "/" + path))
        }
        if includeKeys {
            for path in files.keys {
                add("keys/" + path, .key, try BackupPath.copy(node + "/" + path, to: destination + "/keys/" + path))
            }
        }
        do { try BlobCopier.syncFileSystem(containing: destination) } catch { throw NodeError(.storage, "\(error)") }

        // 5. Read back what was written, then the manifest (a backup without one is incomplete).
        let manifest = BackupManifest(
            format: BackupManifest.formatName, node: config.name, created: Timestamp.now().rfc3339,
            ledger: .init(path: ledgerFolder, ledgerId: ledgerID, headSeq: head.seq, headHash: head.hash.hex,
                          checkpointSeq: head.checkpoint?.event.seq, checkpointTreeSize: head.checkpoint?.treeSize,
                          checkpointRoot: head.checkpoint?.root.hex),
            files: entries, blobs: .init(copied: copier.copied, bytes: copier.bytes, erased: copier.erased, inline: rows.count),
            keys: includeKeys, external: files.external)
        let check = try BackupCheck(backup: destination, manifest: manifest).run()
        try manifest.save(backup: destination)
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
