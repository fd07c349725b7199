/// A signed tree head: a `ledger.checkpoint` event committing to the Merkle root of every event
/// before it.
public struct Checkpoint: Sendable, Hashable {
    /// The checkpoint event itself (signed like every event).
    public let event: Event
    /// Number of events the tree covers (`event.seq − 1`).
    public let treeSize: UInt64
    /// RFC 6962 root over the hashes of events 1…treeSize.
    public let root: Digest32

    init?(event: Event) {
        guard event.type == EventType.checkpoint, let size = event.payload["tree_size"]?.intValue,
            let rootText = event.payload["root"]?.stringValue, let root = Digest32(hex: rootText)
        else { return nil }
        self.event = event
        self.treeSize = UInt64(size)
        self.root = root
    }
}

/// Where the ledger stands.
public struct LedgerHead: Sendable, Hashable {
    /// The last durable sequence number (0 for none).
    public let seq: UInt64
    /// The hash of that event.
    public let hash: Digest32
    /// The newest checkpoint, if any.
    public let checkpoint: Checkpoint?
}
