/// Inclusion and consistency proofs over a tree whose perfect subtrees can be looked up
/// (RFC 6962 §2.1.1–2.1.2 generation, RFC 9162 §2.1.3.2 and §2.1.4.2 verification).
public enum MerkleProofs {
    /// Looks up the hash of the perfect subtree at (`level`, `index`).
    typealias NodeLookup = (_ level: Int, _ index: UInt64) throws -> Digest32

    /// MTH(D[start ..< start+count]) where `start` is aligned to the largest power of two ≤ count.
    static func subtreeHash(start: UInt64, count: UInt64, _ node: NodeLookup) rethrows -> Digest32 {
        if count.nonzeroBitCount == 1 {
            let level = count.trailingZeroBitCount
            return try node(level, start >> UInt64(level))
        }
        let k = MerkleHash.split(count)
        return MerkleHash.node(try subtreeHash(start: start, count: k, node),
            try subtreeHash(start: start + k, count: count - k, node))
    }

    static func root(size: UInt64, _ node: NodeLookup) rethrows -> Digest32 {
        size == 0 ? MerkleHash.emptyRoot : try subtreeHash(start: 0, count: size, node)
    }

    /// The audit path of leaf `index` in the tree of `size` leaves, leaf side first.
    static func inclusionProof(index: UInt64, size: UInt64, _ node: NodeLookup) rethrows -> [Digest32] {
        precondition(index < size)
        func path(_ m: UInt64, _ start: UInt64, _ n: UInt64) throws -> [Digest32] {
            if n == 1 { return [] }
            let k = MerkleHash.split(n)
            if m < k { return try path(m, start, k) + [subtreeHash(start: start + k, count: n - k, node)] }
            return try path(m - k, start + k, n - k) + [subtreeHash(start: start, count: k, node)]
        }
        return try path(index, 0, size)
    }

    /// The consistency proof between the trees of `oldSize` and `newSize` leaves.
    static func consistencyProof(oldSize: UInt64, newSize: UInt64, _ node: NodeLookup) rethrows -> [Digest32] {
        precondition(oldSize <= newSize)
        if oldSize == 0 || oldSize == newSize { return [] }
        func subproof(_ m: UInt64, _ start: UInt64, _ n: UInt64, _ complete: Bool) throws -> [Digest32] {
            if m == n { return complete ? [] : [try subtreeHash(start: start, count: n, node)] }
            let k = MerkleHash.split(n)
            if m <= k { return try subproof(m, start, k, complete) + [subtreeHash(start: start + k, count: n - k, node)] }
            return try subproof(m - k, start + k, n - k, false) + [subtreeHash(start: start, count: k, node)]
        }
        return try subproof(oldSize, 0, newSize, true)
    }

    /// Checks that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`.
    public static func verifyInclusion(leafHash: Digest32, index: UInt64, size: UInt64, proof: [Digest32],
        root: Digest32) -> Bool
    {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Checks that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of
    /// `newSize` leaves with root `newRoot`.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: Digest32, newRoot: Digest32,
        proof: [Digest32]) -> Bool
    {
        if oldSize > newSize { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if oldSize.nonzeroBitCount == 1 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
