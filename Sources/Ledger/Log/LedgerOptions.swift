import CLMDB
/// How a ledger is opened.
public struct LedgerOptions: Sendable {
    /// Create the ledger when the directory has none.
    public var create: Bool = false
    /// Open without a signing key: reads, proofs and verification only.
    public var readOnly: Bool = false
    /// Where the signing keys live; default `<ledger>/keys`.
    public var keyDirectory: String?
    /// The first memory-map size; the map doubles when full, up to ``maxMapSize``.
    public var initialMapSize: Int = 256 << 20
    /// The largest the data file may grow; appends beyond it fail with `ledger.storage_full`.
    public var maxMapSize: Int = 1 << 40
    /// The largest canonical event accepted; bulk content belongs in the blob store.
    public var maxEventBytes: Int = 256 << 10
    /// A checkpoint is written after this many events…
    public var checkpointEvery: UInt64 = 4096
    /// …or, when events arrived since the last one, after this many seconds (0 disables).
    public var checkpointInterval: Double = 60
    /// The most events one batch holds (chained and signed together). A commit writes every
    /// signed batch waiting for it — up to four when the disk is slower than the signer.
    public var maxBatchEvents: Int = 8192
    /// Group commit under concurrent load: how long after the previous commit the next one may
    /// wait for more appends to join it, in seconds, at most ``maxCommitDelay`` (0: commit as
    /// soon as a batch is signed).
    /// Each commit flushes the disk twice; when appends come one or two at a time from many
    /// concurrent callers (a node's message steps), waiting a few milliseconds makes one commit
    /// of what would be several, which saves the flushes' CPU and, the cores being busy, latency
    /// as well. A commit waits only when the previous one answered more than one append or other
    /// appends are already on their way, so a caller appending alone, one append after another,
    /// does not wait (except its first append right after a burst of others). Under load each
    /// commit may wait up to this long after the previous one; it stops waiting when
    /// ``maxBatchEvents`` are ready, and does not wait once the ledger closes.
    public var commitDelay: Double = 0
    /// The largest ``commitDelay`` accepted.
    public static let maxCommitDelay = 1.0
    /// Blobs up to this size put by the appending process are kept inside the ledger's LMDB file
    /// and written with the next commit (``InlineBlobs``); larger ones are files. 0: every blob is
    /// a file.
    public var inlineBlobLimit: Int = 64 << 10

    /// Refuses values out of range (`ledger.invalid_options`).
    func validate() throws(LedgerError) {
        guard commitDelay.isFinite, (0...Self.maxCommitDelay).contains(commitDelay) else {
            throw LedgerError(.invalidOptions, "the commit delay must be between 0 and \(Self.maxCommitDelay) s (got \(commitDelay))")
        }
        guard checkpointInterval.isFinite, (0...Self.maxCheckpointInterval).contains(checkpointInterval) else {
            throw LedgerError(.invalidOptions, "the checkpoint interval must be between 0 and \(Self.maxCheckpointInterval) s (got \(checkpointInterval))")
        }
    }

    /// The largest ``checkpointInterval`` accepted (a year).
    public static let maxCheckpointInterval = 365.0 * 86_400

    /// For tests: called on the committer's thread before each transaction with the number of
    /// batches it writes. A delay here stands for a slow disk, an error for a failed commit.
    var beforeCommit: (@Sendable (_ batches: Int) throws -> Void)?

    /// For tests: how queued blobs are made durable (`syncfs(2)` on the blob directory's
    /// descriptor; 0 on success, -1 with errno set). A failing one stands for a disk that lost
    /// written blobs.
    var syncBlobs: @Sendable (_ directory: Int32) -> Int32 = { kvitto_syncfs($0) }

    /// For tests: false stands for a process that stops between the commit that deletes erased
    /// blob rows and the overwrite of their bytes (which then waits for the next open).
    var scrubsErasedRows = true

    public init() {}
}
