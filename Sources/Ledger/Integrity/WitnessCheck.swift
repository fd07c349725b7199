/// Checks a checkpoint that an auditor kept outside the ledger (a *witness*) against the ledger
/// as it is now.
///
/// `verify` alone cannot catch a history rewritten by someone holding the signing key: the
/// rewritten log is internally consistent. A witness can: its root comes from the auditor's copy,
/// not from the ledger, so the ledger must still hold the very checkpoint event the witness holds
/// (same seq, same hash — and through the hash chain, every event before it) and prove with an
/// RFC 9162 consistency proof that its newer checkpoint extends the witnessed tree.
public struct WitnessCheck: Sendable {
    /// The checkpoint the auditor kept.
    public let witness: Checkpoint
    /// The tree size and root it was compared with (the ledger's newest checkpoint by default).
    public let newSize: UInt64
    public let newRoot: Digest32
    /// The consistency proof from the witnessed tree to the newer one.
    public let proof: [Digest32]
    /// Nil when the ledger extends the witness; otherwise what is wrong, in one sentence.
    public let problem: String?

    public var ok: Bool { problem == nil }

    /// Compares `witness` with `ledger`. With `trustedKey`, the witness must also carry a valid
    /// signature by that key (the auditor's anchor for who issued it).
    public static func run(ledger: Ledger, witness: Checkpoint, newSize: UInt64? = nil, trustedKey: LedgerPublicKey? = nil)
        throws(LedgerError) -> WitnessCheck
    {
        func result(_ size: UInt64, _ root: Digest32, _ proof: [Digest32], _ problem: String?) -> WitnessCheck {
            WitnessCheck(witness: witness, newSize: size, newRoot: root, proof: proof, problem: problem)
        }
        if let trustedKey {
            guard witness.event.key == trustedKey.keyID,
                trustedKey.isValidSignature(witness.event.signature, for: witness.event.hash)
            else {
                return result(0, MerkleHash.emptyRoot, [], "the witness is not signed by the trusted key \(trustedKey.keyID)")
            }
        }
        let head = try ledger.head()
        let target: (size: UInt64, root: Digest32)
        if let newSize {
            target = (newSize, try ledger.merkleRoot(size: min(newSize, head.seq)))
        } else if let latest = head.checkpoint {
            target = (latest.treeSize, latest.root)
        } else {
            throw LedgerError(.noCheckpoint, "the ledger has no checkpoint to compare the witness with; write one (kvitto ledger checkpoint) or pass a tree size")
        }
        let seq = witness.event.seq
        guard seq <= head.seq, let current = try ledger.event(seq) else {
            return result(target.size, target.root, [],
                "the ledger ends at seq \(head.seq), before the witnessed checkpoint (seq \(seq)): events were removed")
        }
        guard current.hash == witness.event.hash else {
            return result(target.size, target.root, [],
                "event \(seq) in the ledger is not the witnessed checkpoint (hash \(current.hash), witness \(witness.event.hash)): the history up to it was rewritten")
        }
        guard target.size >= witness.treeSize, target.size <= head.seq else {
            return result(target.size, target.root, [],
                "compare with a tree of at least \(witness.treeSize) and at most \(head.seq) events")
        }
        let proof = try ledger.consistencyProof(oldSize: witness.treeSize, newSize: target.size)
        guard MerkleProofs.verifyConsistency(oldSize: witness.treeSize, newSize: target.size, oldRoot: witness.root,
            newRoot: target.root, proof: proof)
        else {
            return result(target.size, target.root, proof,
                "the tree of \(target.size) events does not extend the witnessed tree of \(witness.treeSize): the history was rewritten")
        }
        return result(target.size, target.root, proof, nil)
    }
}

extension Checkpoint {
    /// A checkpoint event as `kvitto ledger checkpoint` prints it (its JSON envelope with `hash`
    /// and `sig`): the form in which an auditor keeps a witness.
    public init(json: JSONValue) throws(LedgerError) {
        let event: Event
        do { event = try Event.fromJSON(json) } catch {
            throw LedgerError(.invalidDraft, "the witness is not a ledger event: \(error)")
        }
        guard let cp = Checkpoint(event: event) else {
            throw LedgerError(.invalidDraft, "the witness is a \(event.type) event, not a ledger.checkpoint")
        }
        self = cp
    }
}
