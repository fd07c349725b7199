/// Checks the blob store against the log: every blob an event references (see
/// ``BlobReferences``) must be present with its size and SHA-256, or erased by a `blob.erased`
/// event. Content that was removed without such an event, changed, or lost is reported at the
/// first event that references it.
///
/// Run it after ``LedgerVerifier``: it trusts the events it reads. Memory grows with the number
/// of distinct blobs referenced (one hash and one seq each), not with their size; content is
/// re-hashed in 1 MiB chunks.
public struct BlobVerifier {
    let ledger: Ledger
    /// Where the blobs are looked for.
    let blobs: BlobStore
    /// Events per read.
    public var pageSize = 4096

    /// Checks the ledger's own blob store (the rows of its file and the files beside it), or
    /// `blobs` when given.
    public init(ledger: Ledger, blobs: BlobStore? = nil) {
        self.ledger = ledger
        self.blobs = blobs ?? ledger.blobs
    }

    /// What the blob check found.
    public struct Report: Sendable {
        /// Distinct blobs referenced by events.
        public var referenced = 0
        /// Blobs present, of the right size, whose content re-hashed to their name.
        public var present = 0
        /// Bytes re-hashed.
        public var bytes: Int64 = 0
        /// Blobs erased by a `blob.erased` event.
        public var erased = 0
        /// Of the erased blobs, the wrapped data keys of content encrypted at rest (referenced as
        /// `…/content_encryption/key`): their messages' content is crypto-shredded — whatever
        /// ciphertext is left (here or in a backup made since) can no longer be decrypted.
        public var erasedContentKeys = 0
        /// Blobs a `blob.erased` event names whose content is still there (the erasure was
        /// interrupted; erase again to finish it).
        public var pendingErasures = 0
        /// Nil when every reference checked out.
        public var failure: VerificationFailure?

        public var ok: Bool { failure == nil }
    }

    public func run() -> Report {
        var report = Report()
        var firstReference: [Digest32: (seq: UInt64, size: Int64)] = [:]
        var order: [Digest32] = []
        var erasedBy: [Digest32: UInt64] = [:]
        var contentKeys: Set<Digest32> = []
        var next: UInt64 = 1
        while true {
            let page: [Event]
            do { page = try ledger.events(from: next, limit: pageSize) } catch {
                report.failure = VerificationFailure(seq: next, code: .unreadable, message: "\(error)")
                return report
            }
            guard let last = page.last else { break }
            for e in page {
                if let hash = BlobReferences.erased(type: e.type, payload: e.payload) {
                    if erasedBy[hash] == nil { erasedBy[hash] = e.seq }
                    continue
                }
                for (ref, pointer) in BlobReferences.located(in: e.payload, at: "") where firstReference[ref.sha256] == nil {
                    firstReference[ref.sha256] = (e.seq, ref.size)
                    order.append(ref.sha256)
                    if pointer.hasSuffix("/content_encryption/key") { contentKeys.insert(ref.sha256) }
                }
            }
            next = last.seq + 1
        }
        report.referenced = order.count
        // In log order, so that a failure names the earliest event it concerns.
        for hash in order {
            let (seq, size) = firstReference[hash]!
            switch blobs.state(of: hash) {
            case .present(let stored):
                guard stored == size else {
                    report.failure = VerificationFailure(seq: seq, code: .blobAltered,
                        message: "blob \(hash) has \(stored) bytes but the event records \(size): its content was changed")
                    return report
                }
                do {
                    let reader = try blobs.open(hash)
                    while let chunk = try reader.next() { report.bytes += Int64(chunk.count) }
                } catch {
                    let code: VerificationFailure.Code = error.code == .blobCorrupt ? .blobAltered : .unreadable
                    report.failure = VerificationFailure(seq: seq, code: code, message: error.message)
                    return report
                }
                report.present += 1
                if erasedBy[hash] != nil { report.pendingErasures += 1 }
            case .erased(let marker):
                guard erasedBy[hash] != nil else {
                    report.failure = VerificationFailure(seq: seq, code: .blobErasedWithoutEvent,
                        message: "blob \(hash) was removed (marker: \(marker)) but no blob.erased event records it")
                    return report
                }
                report.erased += 1
                if contentKeys.contains(hash) { report.erasedContentKeys += 1 }
            case .absent:
                // The event is authoritative: an erasure whose marker was lost is still an erasure.
                guard erasedBy[hash] != nil else {
                    report.failure = VerificationFailure(seq: seq, code: .blobMissing,
                        message: "blob \(hash) (\(size) bytes) is not in the blob store and no blob.erased event records its removal")
                    return report
                }
                report.erased += 1
                if contentKeys.contains(hash) { report.erasedContentKeys += 1 }
            }
        }
        return report
    }
}
