import Foundation
package import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// Checks a backup before it is trusted: `kvitto backup` runs it on what it wrote, `kvitto restore`
/// before it copies anything. In this order, stopping at the first problem:
/// 1. the ledger copy verifies (hashes, chain, signatures, key rotations, checkpoints, Merkle
///    nodes) — a damaged one is named by its first bad seq;
/// 2. its head is the manifest's;
/// 3. every blob it references is present with its SHA-256 (or erased by a recorded event) — a
///    missing one is named with the event that references it;
/// 4. every other file has the size and SHA-256 the manifest records;
/// 5. with a witness (a checkpoint kept outside the node), the ledger still holds it and extends it.
package struct BackupCheck {
    package let directory: String
    /// A checkpoint an auditor kept; the backup's ledger must extend it.
    package var witness: Checkpoint?
    /// The genesis event must name this key.
    package var trustedKey: LedgerPublicKey?

    /// The manifest to check against; nil: the backup's `manifest.json`.
    package var manifest: BackupManifest?

    package init(backup directory: String, manifest: BackupManifest? = nil, witness: Checkpoint? = nil, trustedKey: LedgerPublicKey? = nil) {
        self.directory = directory
        self.manifest = manifest
        self.witness = witness
        self.trustedKey = trustedKey
    }

    static var readOnly: LedgerOptions {
        var o = LedgerOptions()
        o.readOnly = true
        return o
    }

    /// Runs `body` on the ledger in `path` opened read-only, then closes it and removes the lock
    /// file the open created (a backup or a staged node holds data only).
    static func withLedger<T>(at path: String, _ body: (Ledger) throws(NodeError) -> T) throws(NodeError) -> T {
        let lockFile = path + "/lock.mdb"
        let hadLock = FileManager.default.fileExists(atPath: lockFile)
        let ledger: Ledger
        do { ledger = try Ledger.open(at: path, options: readOnly) } catch {
            throw NodeError(.backupInvalid, "the ledger in \(path) cannot be opened: \(error)")
        }
        defer {
            ledger.close()
            if !hadLock { unlink(lockFile) }
        }
        return try body(ledger)
    }

    /// The distinct blobs the events of `ledger` reference, split into those kept as files (in the
    /// order of first reference) and those that are rows of its file (small blobs, which a copy of
    /// the file holds), and those a `blob.erased` event of it erased (with the text for their marker).
    static func referencedBlobs(_ ledger: Ledger) throws(NodeError) -> (files: [BlobRef], rows: [Digest32], erased: [Digest32: String]) {
        let (refs, erased) = try allReferencedBlobs(ledger)
        var files: [BlobRef] = []
        var rows: [Digest32] = []
        for ref in refs {
            if ledger.blobs.holdsInline(ref.sha256) { rows.append(ref.sha256) } else { files.append(ref) }
        }
        return (files, rows, erased)
    }

    private static func allReferencedBlobs(_ ledger: Ledger) throws(NodeError) -> (refs: [BlobRef], erased: [Digest32: String]) {
        var seen: Set<Digest32> = []
        var out: [BlobRef] = []
        var erased: [Digest32: String] = [:]
        var next: UInt64 = 1
        while true {
            let page: [Event]
            do { page = try ledger.events(from: next, limit: 4096) } catch { throw NodeError(.storage, "reading the ledger at seq \(next): \(error)") }
            guard let last = page.last else { return (out, erased) }
            for e in page {
                if let hash = BlobReferences.erased(type: e.type, payload: e.payload) {
                    erased[hash] = erased[hash] ?? "erased by the blob.erased event at seq \(e.seq)"
                }
                for ref in BlobReferences.find(in: e.payload) where seen.insert(ref.sha256).inserted { out.append(ref) }
            }
            next = last.seq + 1
        }
    }

    package struct Report: Sendable {
        package var manifest: BackupManifest
        package var events: UInt64
        package var blobs: BlobVerifier.Report
        /// The witness compared, when one was given.
        package var witness: WitnessCheck?
    }

    package func run() throws(NodeError) -> Report {
        let manifest: BackupManifest
        if let given = self.manifest { manifest = given } else { manifest = try BackupManifest.load(backup: directory) }
        let (events, blobs, witnessed) = try Self.verifyLedger(at: directory + "/" + manifest.ledger.path, manifest: manifest,
                                                               witness: witness, trustedKey: trustedKey)
        for file in manifest.files {
            let found: (size: Int64, sha256: String)
            do { found = try BackupPath.digest(directory + "/" + file.path) } catch {
                throw NodeError(.backupInvalid, "\(file.path), listed in the manifest, cannot be read: \(error.message)")
            }
            guard found.size == file.size, found.sha256 == file.sha256 else {
                throw NodeError(.backupInvalid,
                    "\(file.path) does not match the manifest (\(found.size) bytes, SHA-256 \(found.sha256); recorded \(file.size) bytes, \(file.sha256))")
            }
        }
        return Report(manifest: manifest, events: events, blobs: blobs, witness: witnessed)
    }

    /// Steps 1–3 and 5 on the ledger in `path` (its blob store beside it).
    static func verifyLedger(at path: String, manifest: BackupManifest, witness: Checkpoint?, trustedKey: LedgerPublicKey?)
        throws(NodeError) -> (events: UInt64, blobs: BlobVerifier.Report, witness: WitnessCheck?)
    {
        try withLedger(at: path) { (ledger) throws(NodeError) in
            let events = try verifyEvents(ledger, trustedKey: trustedKey)
            let head: LedgerHead
            do { head = try ledger.head() } catch { throw NodeError(.backupInvalid, "the backup's ledger has no head: \(error)") }
            guard head.seq == manifest.ledger.headSeq, head.hash.hex == manifest.ledger.headHash else {
                throw NodeError(.backupInvalid,
                    "the backup's ledger ends at seq \(head.seq) (\(head.hash)); the manifest says seq \(manifest.ledger.headSeq) (\(manifest.ledger.headHash))")
            }
            // Every referenced blob: the rows of small blobs in the ledger file, the files beside it.
            let blobs = BlobVerifier(ledger: ledger, blobs: ledger.blobs).run()
            if let f = blobs.failure {
                throw NodeError(.backupInvalid, "the backup's blobs fail at seq \(f.seq): \(f.code.rawValue): \(f.message)")
            }
            var witnessed: WitnessCheck?
            if let witness {
                do { witnessed = try WitnessCheck.run(ledger: ledger, witness: witness, newSize: head.seq) } catch {
                    throw NodeError(.backupInvalid, "the witness cannot be compared with the backup's ledger: \(error)")
                }
                if let problem = witnessed?.problem {
                    throw NodeError(.backupInvalid, "the backup's ledger does not extend the witness: \(problem)")
                }
            }
            return (events, blobs, witnessed)
        }
    }

    /// Step 1: the events verify (hashes, chain, signatures, key rotations, checkpoints, Merkle
    /// nodes); otherwise the first bad seq is named. Returns how many there are.
    static func verifyEvents(_ ledger: Ledger, trustedKey: LedgerPublicKey?) throws(NodeError) -> UInt64 {
        let report = LedgerVerifier(ledger: ledger, trustedGenesisKey: trustedKey).run()
        if let f = report.failure {
            throw NodeError(.backupInvalid, "the backup's ledger fails at seq \(f.seq): \(f.code.rawValue): \(f.message)")
        }
        return report.events
    }
}
