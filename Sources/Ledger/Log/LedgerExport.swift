import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `kvitto ledger export`: the ledger as plain files that need nothing of Kvitto to be read or
/// checked (`Schemas/backup.md`, "Ledger export"):
///
/// - `events.jsonl` — every event from seq 1 to the head at the start, one canonical JSON envelope
///   per line (as `kvitto ledger show --json` prints them);
/// - `blobs/<h0h1>/<h2h3>/<sha256>` — every blob those events reference, re-hashed on the way, and
///   `<sha256>.erased` markers of erased ones (the layout of the node's blob store);
/// - `export.json` — format, ledger id, head seq and hash, newest checkpoint, event count and the
///   SHA-256 of `events.jsonl`, blob counts.
///
/// Safe while another process appends: events up to the head read at the start never change, and
/// every blob they reference was durable before them.
public struct LedgerExport {
    public static let formatName = "kvitto-ledger-export/1"

    public struct Summary: Sendable {
        public var events: UInt64
        public var headHash: Digest32?
        public var blobs: Int
        public var blobBytes: Int64
        public var erased: Int
        public var eventsSHA256: String
    }

    let ledger: Ledger
    let directory: String

    public init(ledger: Ledger, to directory: String) {
        self.ledger = ledger
        self.directory = directory
    }

    public func run() throws(LedgerError) -> Summary {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory) {
            guard let content = try? fm.contentsOfDirectory(atPath: directory), content.isEmpty else {
                throw LedgerError(.storage, "\(directory) exists and is not an empty folder; choose a new one")
            }
        }
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        catch { throw LedgerError(.storage, "cannot create \(directory): \(error)") }
        let head = try ledger.head()

        let eventsPath = directory + "/events.jsonl"
        let fd = Glibc.open(eventsPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError(.storage, "cannot create \(eventsPath): errno \(errno)") }
        defer { close(fd) }
        var hasher = SHA256()
        var seen: Set<Digest32> = []
        var references: [BlobRef] = []
        var next: UInt64 = 1
        var lastHash: Digest32?
        while next <= head.seq {
            let page = try ledger.events(from: next, limit: Int(min(4096, head.seq - next + 1)))
            guard let last = page.last else { break }
            var text: [UInt8] = []
            for e in page {
                text += CanonicalJSON.encode(e.json)
                text.append(UInt8(ascii: "\n"))
                for ref in BlobReferences.find(in: e.payload) where seen.insert(ref.sha256).inserted { references.append(ref) }
            }
            hasher.update(data: text)
            let failed = FileIO.writeAll(fd, text)
            guard failed == 0 else { throw LedgerError(.storage, "writing \(eventsPath) failed: errno \(failed); check disk space") }
            lastHash = last.hash
            next = last.seq + 1
        }
        guard next == head.seq + 1 else {
            throw LedgerError(.corrupt, "the ledger ends at seq \(next - 1), before its head \(head.seq); run `kvitto ledger verify`")
        }
        guard fsync(fd) == 0 else { throw LedgerError(.storage, "flushing \(eventsPath) failed: errno \(errno)") }

        let copier = BlobCopier(from: ledger.blobs, to: BlobStore(directory: directory + "/blobs"))
        try copier.copy(references)
        try copier.finish()

        let summary = Summary(events: head.seq, headHash: lastHash, blobs: copier.copied, blobBytes: copier.bytes,
                              erased: copier.erased, eventsSHA256: Hex.encode(Array(hasher.finalize())))
        var manifest: [String: JSONValue] = [
            "format": .string(Self.formatName), "events": .int(Int64(head.seq)), "events_sha256": .string(summary.eventsSHA256),
            "head_seq": .int(Int64(head.seq)), "blobs": .int(Int64(copier.copied)), "blob_bytes": .int(copier.bytes),
            "blobs_erased": .int(Int64(copier.erased)),
        ]
        if let lastHash { manifest["head_hash"] = .string(lastHash.hex) }
        if let id = try ledger.event(1)?.payload["ledger_id"]?.stringValue { manifest["ledger_id"] = .string(id) }
        if let cp = head.checkpoint {
            manifest["checkpoint"] = ["seq": .int(Int64(cp.event.seq)), "tree_size": .int(Int64(cp.treeSize)), "root": .string(cp.root.hex)]
        }
        let manifestPath = directory + "/export.json"
        let mfd = Glibc.open(manifestPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard mfd >= 0 else { throw LedgerError(.storage, "cannot create \(manifestPath): errno \(errno)") }
        defer { close(mfd) }
        let failed = FileIO.writeAll(mfd, CanonicalJSON.encode(.object(manifest)) + [UInt8(ascii: "\n")])
        guard failed == 0, fsync(mfd) == 0 else { throw LedgerError(.storage, "writing \(manifestPath) failed; check disk space") }
        let dfd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return summary
    }
}
