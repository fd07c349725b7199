/// Everything the writer needs to extend the log: the last event, the Merkle frontier, the active
/// signing key and the checkpoint schedule. A value: preparing a batch works on a copy, which
/// becomes the committed state only after LMDB made the batch durable.
struct WriterState: Sendable {
    var seq: UInt64
    var hash: Digest32
    var time: Timestamp
    var frontier: MerkleFrontier
    var signer: LedgerSigningKey
    var checkpointedSize: UInt64
    var checkpointTime: Timestamp
}

/// What one appender asked for.
enum WriteCommand: Sendable {
    case append([EncodedDraft])
    case checkpoint
    case rotateKey(LedgerSigningKey)
    case create(ledgerID: String)
}

/// A batch of events built, hashed and signed, ready for one LMDB write transaction.
struct PreparedBatch: Sendable {
    var events: [Event] = []
    /// Merkle nodes completed by the batch: post-order position → hash, ascending.
    var merkleNodes: [(UInt64, Digest32)] = []
    /// Checkpoint rows: checkpoint seq → tree size ‖ root.
    var checkpointRows: [(UInt64, [UInt8])] = []
    /// For each request, the range of `events` that answers it.
    var ranges: [Range<Int>] = []
    /// The state after the batch, adopted once it is durable.
    var state: WriterState
    var ledgerID: String?
}
