/// Proof that one event is in the log a checkpoint commits to.
public struct InclusionProof: Sendable, Hashable {
    /// The event proven.
    public let event: Event
    /// The signed checkpoint the proof leads to.
    public let checkpoint: Checkpoint
    /// Audit path (RFC 9162 §2.1.3), leaf side first.
    public let path: [Digest32]

    /// Leaf index of the event (`seq − 1`).
    public var leafIndex: UInt64 { event.seq - 1 }

    /// Recomputes the root from the event's hash and the path and compares it with the checkpoint.
    /// (The checkpoint's own signature is checked against the ledger key by the caller.)
    public var isValid: Bool {
        MerkleProofs.verifyInclusion(leafHash: MerkleHash.leaf(event.hash), index: leafIndex,
            size: checkpoint.treeSize, proof: path, root: checkpoint.root)
    }
}

extension Ledger {
    /// An inclusion proof for event `seq` to the newest checkpoint (or the first checkpoint
    /// covering `seq` at or after `treeSize`).
    public func inclusionProof(seq: UInt64, treeSize: UInt64? = nil) throws(LedgerError) -> InclusionProof {
        try read { txn in
            guard let event = try store.event(txn, seq: seq) else {
                throw LedgerError(.seqOutOfRange, "there is no event \(seq)")
            }
            let cp: Checkpoint?
            if let treeSize { cp = try store.checkpoint(txn, coveringAtLeast: max(treeSize, seq)) }
            else { cp = try store.latestCheckpoint(txn) }
            guard let cp, cp.treeSize >= seq else {
                throw LedgerError(.noCheckpoint,
                    "event \(seq) is newer than the latest checkpoint; write one with `kvitto ledger checkpoint`")
            }
            let path = try MerkleProofs.inclusionProof(index: seq - 1, size: cp.treeSize) { level, index in
                try store.merkleNode(txn, level: level, index: index)
            }
            return InclusionProof(event: event, checkpoint: cp, path: path)
        }
    }

    /// A consistency proof that the tree of `oldSize` events is a prefix of the tree of `newSize`.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(LedgerError) -> [Digest32] {
        try read { txn in
            let head = try store.storedHead(txn)?.seq ?? 0
            guard oldSize <= newSize, newSize <= head else {
                throw LedgerError(.seqOutOfRange, "need 0 ≤ old ≤ new ≤ \(head), got \(oldSize) and \(newSize)")
            }
            return try MerkleProofs.consistencyProof(oldSize: oldSize, newSize: newSize) { level, index in
                try store.merkleNode(txn, level: level, index: index)
            }
        }
    }

    /// The Merkle root over events 1…`size`.
    public func merkleRoot(size: UInt64) throws(LedgerError) -> Digest32 {
        try read { txn in
            try MerkleProofs.root(size: size) { level, index in try store.merkleNode(txn, level: level, index: index) }
        }
    }
}
