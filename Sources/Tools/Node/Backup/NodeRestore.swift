package import Foundation
package import Ledger
import Identity
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto restore`: a node directory from a backup.
///
/// Everything is copied into a fresh folder beside the target first (`.<name>.restoring-XXXXXX`),
/// and the checks run on what was copied there, never on the backup in place: each file must have
/// the size and SHA-256 the manifest records as it is copied, the staged configuration must keep
/// its ledger where the manifest says, and the staged ledger and blobs must pass
/// ``BackupCheck/verifyLedger(at:manifest:witness:trustedKey:)`` (with the witness). Only then is
/// the folder flushed and renamed into place; on any refusal it is removed, and an interrupted
/// restore leaves no partial node under the target's name.
///
/// The restored node is the node as it was at the backup's ledger head: it resumes from there —
/// queued messages are sent again with their AS4 MessageIds (the peer recognises those it already
/// has); what the original node did after the backup is not in it.
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
        let manifest = try BackupManifest.load(backup: backup)
        let target = URL(fileURLWithPath: node).standardizedFileURL.path
        let parent = (target as NSString).deletingLastPathComponent
        try BackupPath.makeDirectory(parent)
        try Self.requireSameFileSystem(target, parent)
        var template = Array("\(parent)/.\((target as NSString).lastPathComponent).restoring-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw NodeError(.storage, "cannot create a staging folder in \(parent): errno \(errno)")
        }
        let staging = String(cString: made)
        var done = false
        defer { if !done { try? FileManager.default.removeItem(atPath: staging) } }

        // 1. Files, each checked against the manifest as it is copied.
        var mismatches: [String] = []
        for file in manifest.files {
            let written = try BackupPath.copy(backup + "/" + file.path, to: staging + "/" + BackupManifest.target(of: file))
            if written.size != file.size || written.sha256 != file.sha256 {
                mismatches.append("\(file.path) does not match the manifest (\(written.size) bytes, SHA-256 \(written.sha256); recorded \(file.size) bytes, \(file.sha256))")
            }
        }
        let ledgerFile = manifest.ledger.path + "/data.mdb"
        let stagedLedger = staging + "/" + manifest.ledger.path
        if let first = mismatches.first {
            // A damaged ledger is named by its first bad event, or by a small blob it no longer
            // holds intact, when the damage reaches one.
            if mismatches.contains(where: { $0.hasPrefix(ledgerFile + " ") }) {
                _ = try BackupCheck.withLedger(at: stagedLedger) { (ledger) throws(NodeError) in
                    try BackupCheck.verifyEvents(ledger, trustedKey: nil)
                }
                try stageBlobs(of: stagedLedger, from: backup + "/" + manifest.ledger.path)
                _ = try BackupCheck.verifyLedger(at: stagedLedger, manifest: manifest, witness: nil, trustedKey: nil)
            }
            throw NodeError(.backupInvalid, first)
        }
        let config: NodeConfig
        do { config = try NodeConfig.load(directory: staging) } catch {
            throw NodeError(.backupInvalid, "the backup's configuration does not load: \(error.message)")
        }
        guard (try? NodeBackup.ledgerFolder(config, node: staging)) == manifest.ledger.path else {
            throw NodeError(.backupInvalid, "the backup's kvitto.json keeps the ledger in \(config.ledger), the manifest in \(manifest.ledger.path)")
        }

        // 2. The blobs, then the checks on the staged ledger.
        try stageBlobs(of: stagedLedger, from: backup + "/" + manifest.ledger.path)
        let (events, blobs, witnessed) = try BackupCheck.verifyLedger(at: stagedLedger, manifest: manifest,
                                                                      witness: witness, trustedKey: trustedKey)
        let missingKeys = manifest.keys ? [] : try expectedKeys(config, staging: staging, ledgerFolder: manifest.ledger.path)

        // 3. Durable, then into place (rename(2) replaces an empty target folder atomically).
        do { try BlobCopier.syncFileSystem(containing: staging) } catch { throw NodeError(.storage, "\(error)") }
        guard rename(staging, target) == 0 else { throw NodeError(.storage, "cannot move \(staging) to \(target): errno \(errno)") }
        done = true
        BackupPath.syncDirectory(parent)
        return Result(check: .init(manifest: manifest, events: events, blobs: blobs, witness: witnessed), missingKeys: missingKeys)
    }

    /// Copies into the staged ledger's blob folder the blobs its events reference that are files
    /// (small blobs are rows of the staged ledger file already), from the backup's ledger folder;
    /// a missing or altered one is refused, named.
    private func stageBlobs(of stagedLedger: String, from backupLedger: String) throws(NodeError) {
        let (references, erased) = try BackupCheck.withLedger(at: stagedLedger) { (ledger) throws(NodeError) in
            let (files, _, erased) = try BackupCheck.referencedBlobs(ledger)
            return (files, erased)
        }
        let copier = BlobCopier(from: BlobStore(directory: backupLedger + "/blobs"), to: BlobStore(directory: stagedLedger + "/blobs"))
        do { try copier.copy(references, erased: erased) } catch { throw NodeError(.backupInvalid, "restoring a blob: \(error)") }
    }

    /// A target that is a mount point (an empty volume) cannot be renamed onto: refused before
    /// anything is copied.
    static func requireSameFileSystem(_ target: String, _ parent: String) throws(NodeError) {
        var t = stat(), p = stat()
        guard stat(target, &t) == 0 else { return }
        guard stat(parent, &p) == 0, t.st_dev == p.st_dev else {
            throw NodeError(.invalidRequest, "\(target) is on another file system than \(parent) (a mount point?); restore into a new folder inside it, e.g. \(target)/kvitto")
        }
    }

    /// The private keys the restored configuration and ledger need, relative to the node.
    private func expectedKeys(_ config: NodeConfig, staging: String, ledgerFolder: String) throws(NodeError) -> [String] {
        var keys = [config.as4.key] + config.participants.map(\.o2oKey)
            + ((config.as4.previous ?? []) + config.participants.flatMap { $0.o2oPrevious ?? [] }).map(\.key)
        if let tls = config.as4.tls { keys.append(tls.key) }
        if let secret = config.api?.console?.clientSecretFile { keys.append(secret) }
        if config.identity?.developmentIssuer?.enabled ?? false { keys.append(DevelopmentIssuer.keyFile) }
        if let c = config.contentEncryption {
            let ids = config.participants.map(\.id) + (config.retiredParticipants ?? []).map(\.id)
            keys += ids.map { ContentVault.keyFile(participant: $0, in: c.keyDirectory) }
        }
        let signer = try BackupCheck.withLedger(at: staging + "/" + ledgerFolder) { (ledger) throws(NodeError) in
            (try? ledger.event(ledger.head().seq))??.key
        }
        if let signer { keys.append(ledgerFolder + "/keys/" + signer + ".ed25519") }
        return Array(Set(keys)).sorted()
    }
}
