/// The right edge of an append-only Merkle tree: the perfect subtrees of the binary decomposition
/// of its size (at most 64). Appending a leaf costs O(1) amortised and reports every perfect
/// subtree it completes, so they can be stored for proofs; the root costs O(log n).
struct MerkleFrontier: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        let level: Int
        let index: UInt64
        let hash: Digest32
    }

    private(set) var size: UInt64 = 0
    private(set) var peaks: [Node] = []

    init() {}

    /// Rebuilds the frontier of a tree of `size` leaves from its stored perfect subtrees.
    init(size: UInt64, node: (Int, UInt64) throws -> Digest32) rethrows {
        self.size = size
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size & (1 << UInt64(level)) != 0 {
            let index = start >> UInt64(level)
            peaks.append(Node(level: level, index: index, hash: try node(level, index)))
            start += 1 << UInt64(level)
        }
    }

    /// Adds a leaf (its leaf hash) and returns the perfect subtrees completed, leaf first.
    @discardableResult
    mutating func append(leafHash: Digest32) -> [Node] {
        var completed: [Node] = []
        append(leafHash: leafHash) { completed.append($0) }
        return completed
    }

    /// Adds a leaf (its leaf hash) and reports each perfect subtree completed, leaf first, without
    /// building an array.
    mutating func append(leafHash: Digest32, completed: (Node) -> Void) {
        let leaf = Node(level: 0, index: size, hash: leafHash)
        completed(leaf)
        peaks.append(leaf)
        size += 1
        while peaks.count >= 2, peaks[peaks.count - 1].level == peaks[peaks.count - 2].level {
            let right = peaks.removeLast()
            let left = peaks.removeLast()
            let merged = Node(level: left.level + 1, index: left.index >> 1, hash: MerkleHash.node(left.hash, right.hash))
            peaks.append(merged)
            completed(merged)
        }
    }

    /// Adds a leaf and appends each perfect subtree completed to `stored` as (post-order storage
    /// position, hash): the append path, once per event.
    mutating func append(leafHash: Digest32, storingInto stored: inout [(UInt64, Digest32)]) {
        append(leafHash: leafHash) { node in
            stored.append((MerkleHash.postOrderPosition(level: node.level, index: node.index), node.hash))
        }
    }

    /// The RFC 6962 root hash of the current tree.
    var root: Digest32 {
        guard var r = peaks.last?.hash else { return MerkleHash.emptyRoot }
        for p in peaks.dropLast().reversed() { r = MerkleHash.node(p.hash, r) }
        return r
    }
}
