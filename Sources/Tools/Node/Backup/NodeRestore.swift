package import Foundation
package import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto restore`: a node directory from a backup, only after ``BackupCheck`` passed.
///
/// Everything is written into a sibling folder first (`<node>.restoring-<pid>`), flushed, and
/// renamed into place at the end: an interrupted restore leaves no half node behind. The restored
/// node is the node as it was at the backup's ledger head: it resumes from there — queued
/// messages are sent again with their AS4 MessageIds (the peer recognises those it already has);
/// what the original node did after the backup is not in it.
package struct NodeRestore {
    package let backup: String
    package let node: String
    package var witness: Checkpoint?
    package var trustedKey: LedgerPublicKey?

    package init(backup: String, to node: String, witness: Checkpoint? = nil, trustedKey: LedgerPublicKey? = nil) {
        self.backup = backup
        self.node = node
        self.witness = witness
        self.trustedKey = trustedKey
    }

    package struct Result: Sendable {
        package var check: BackupCheck.Report
        /// Private keys the backup does not hold: the node cannot start until they are put in place.
        package var missingKeys: [String]
    }

    package func run() throws(NodeError) -> Result {
        try NodeBackup.requireEmpty(node)
        let check = try BackupCheck(backup: backup, witness: witness, trustedKey: trustedKey).run()
        let manifest = check.manifest
        let parent = (URL(fileURLWithPath: node).standardizedFileURL.path as NSString).deletingLastPathComponent
        try BackupPath.makeDirectory(parent)
        let staging = URL(fileURLWithPath: node).standardizedFileURL.path + ".restoring-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        var done = false
        defer { if !done { try? FileManager.default.removeItem(atPath: staging) } }
        try BackupPath.makeDirectory(staging)

        for file in manifest.files {
            let target = file.role == .key ? String(file.path.dropFirst("keys/".count)) : file.path
            guard BackupPath.isSafe(target) else { throw NodeError(.backupInvalid, "the manifest names \(file.path), outside the node") }
            let written = try BackupPath.copy(backup + "/" + file.path, to: staging + "/" + target)
            // Checked once by BackupCheck; checked again as copied, in case the backup changed since.
            guard written.size == file.size, written.sha256 == file.sha256 else {
                throw NodeError(.backupInvalid, "\(file.path) changed while it was restored; nothing was restored")
            }
        }
        let copier = BlobCopier(from: BlobStore(directory: backup + "/" + manifest.ledger.path + "/blobs"),
                                to: BlobStore(directory: staging + "/" + manifest.ledger.path + "/blobs"))
        let references = try BackupCheck.withLedger(at: backup + "/" + manifest.ledger.path) { (source) throws(NodeError) in
            try BackupCheck.referencedBlobs(source)
        }
        do { try copier.copy(references) } catch { throw NodeError(.backupInvalid, "restoring a blob: \(error)") }
        do { try copier.finish() } catch { throw NodeError(.storage, "\(error)") }
        BackupPath.syncDirectory(staging)

        let missingKeys = manifest.keys ? [] : try expectedKeys(staging: staging, manifest: manifest)
        // Into place: the empty target folder (if any) gives way to the staged node.
        if FileManager.default.fileExists(atPath: node) {
            guard rmdir(node) == 0 else { throw NodeError(.storage, "cannot replace the empty folder \(node): errno \(errno)") }
        }
        guard rename(staging, node) == 0 else { throw NodeError(.storage, "cannot move \(staging) to \(node): errno \(errno)") }
        done = true
        BackupPath.syncDirectory(parent)
        return Result(check: check, missingKeys: missingKeys)
    }

    /// The private keys the restored configuration and ledger need, relative to the node.
    private func expectedKeys(staging: String, manifest: BackupManifest) throws(NodeError) -> [String] {
        let config = try NodeConfig.load(directory: staging)
        var keys = [config.as4.key] + config.participants.map(\.o2oKey)
        if let tls = config.as4.tls { keys.append(tls.key) }
        let signer = try BackupCheck.withLedger(at: staging + "/" + manifest.ledger.path) { (ledger) throws(NodeError) in
            (try? ledger.event(ledger.head().seq))??.key
        }
        if let signer { keys.append(manifest.ledger.path + "/keys/" + signer + ".ed25519") }
        return Array(Set(keys)).sorted()
    }
}
