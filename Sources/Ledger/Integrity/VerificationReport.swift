/// The first thing `verify` found wrong, naming the sequence number where the log stops being
/// trustworthy.
public struct VerificationFailure: Sendable, Hashable, Error, CustomStringConvertible {
    /// Stable failure codes.
    public enum Code: String, Sendable {
        case malformed = "malformed_event"
        case hashMismatch = "hash_mismatch"
        case missing = "missing_event"
        case wrongSeq = "wrong_seq"
        case chainBroken = "chain_broken"
        case wrongKey = "wrong_key"
        case badSignature = "bad_signature"
        case badGenesis = "bad_genesis"
        case untrustedKey = "untrusted_key"
        case badKeyRotation = "bad_key_rotation"
        case checkpointMismatch = "checkpoint_mismatch"
        case merkleMismatch = "merkle_node_mismatch"
        case timeReversed = "time_reversed"
        case truncated = "truncated"
        case headMismatch = "head_mismatch"
        case unreadable = "unreadable"
        case blobMissing = "blob_missing"
        case blobAltered = "blob_altered"
        case blobErasedWithoutEvent = "blob_erased_without_event"
    }

    /// The first bad sequence number.
    public let seq: UInt64
    public let code: Code
    public let message: String

    public var description: String { "seq \(seq): \(code.rawValue): \(message)" }
}

/// What `verify` checked.
public struct VerificationReport: Sendable {
    /// Events checked (hash, chain, signature, Merkle).
    public var events: UInt64 = 0
    /// Checkpoints whose root was recomputed and matched.
    public var checkpoints: UInt64 = 0
    /// Signing keys in the order they became active.
    public var keys: [String] = []
    public var ledgerID: String?
    /// The newest checkpoint seen: tree size and root.
    public var lastCheckpoint: (treeSize: UInt64, root: Digest32)?
    /// The Merkle root over all events checked.
    public var root: Digest32 = MerkleHash.emptyRoot
    /// Whether the genesis key was compared with a pinned key.
    public var genesisPinned = false
    /// Nil when everything verified.
    public var failure: VerificationFailure?
    public var seconds: Double = 0

    public var ok: Bool { failure == nil }
}
