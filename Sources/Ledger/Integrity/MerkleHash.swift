import Crypto

/// RFC 6962 / RFC 9162 Merkle tree hashing: `leaf = SHA-256(0x00 ‖ data)`,
/// `node = SHA-256(0x01 ‖ left ‖ right)`, empty tree = `SHA-256("")`.
public enum MerkleHash {
    public static let emptyRoot = Digest32(unchecked: Array(SHA256.hash(data: [UInt8]())))

    public static func leaf(_ data: [UInt8]) -> Digest32 {
        var input = [UInt8]()
        input.reserveCapacity(data.count + 1)
        input.append(0x00)
        input.append(contentsOf: data)
        return Digest32.sha256(input)
    }

    /// The leaf hash of an event: `SHA-256(0x00 ‖ event hash)`.
    public static func leaf(_ eventHash: Digest32) -> Digest32 {
        Digest32.sha256(prefix: 0x00, eventHash)
    }

    public static func node(_ left: Digest32, _ right: Digest32) -> Digest32 {
        Digest32.sha256(prefix: 0x01, left, right)
    }

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return 1 << (63 - (n - 1).leadingZeroBitCount)
    }

    /// Storage position of the perfect subtree (`level`, `index`) in post-order, which is also the
    /// order in which an append-only tree completes them: stored keys only ever grow.
    static func postOrderPosition(level: Int, index: UInt64) -> UInt64 {
        let leavesWhenComplete = (index + 1) << UInt64(level)
        let before = leavesWhenComplete - 1
        return 2 * before - UInt64(before.nonzeroBitCount) + UInt64(level)
    }
}
