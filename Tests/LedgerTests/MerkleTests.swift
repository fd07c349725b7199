import Foundation
import XCTest
@testable import Ledger

/// An in-memory tree: the perfect subtrees an append-only tree stores, as the ledger does in LMDB.
struct MemoryTree {
    var frontier = MerkleFrontier()
    var nodes: [UInt64: Digest32] = [:]

    mutating func append(_ data: [UInt8]) {
        for n in frontier.append(leafHash: MerkleHash.leaf(data)) {
            nodes[MerkleHash.postOrderPosition(level: n.level, index: n.index)] = n.hash
        }
    }

    func node(_ level: Int, _ index: UInt64) throws -> Digest32 {
        guard let h = nodes[MerkleHash.postOrderPosition(level: level, index: index)] else {
            throw LedgerError(.corrupt, "missing node \(level)/\(index)")
        }
        return h
    }
}

final class MerkleTests: XCTestCase {
    struct Vectors {
        var leaves: [[UInt8]]
        var roots: [Digest32]
        var inclusion: [(index: UInt64, size: UInt64, path: [Digest32])]
        var consistency: [(old: UInt64, new: UInt64, proof: [Digest32])]
    }

    static func loadVectors() throws -> Vectors {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "rfc6962-vectors", withExtension: "json", subdirectory: "Resources"))
        let json = try JSONParser.parse(Array(try Data(contentsOf: url)))
        func hexes(_ v: JSONValue?) -> [Digest32] {
            guard case .array(let a)? = v else { return [] }
            return a.compactMap { $0.stringValue.flatMap(Digest32.init(hex:)) }
        }
        guard case .array(let leaves)? = json["leaves"], case .array(let roots)? = json["roots"],
            case .array(let inc)? = json["inclusion"], case .array(let cons)? = json["consistency"]
        else { throw LedgerError(.corrupt, "vector file layout") }
        return Vectors(
            leaves: leaves.map { Hex.decode($0.stringValue ?? "") ?? [] },
            roots: roots.compactMap { $0.stringValue.flatMap(Digest32.init(hex:)) },
            inclusion: inc.map { (UInt64($0["leaf_index"]?.intValue ?? -1), UInt64($0["tree_size"]?.intValue ?? 0), hexes($0["path"])) },
            consistency: cons.map { (UInt64($0["size1"]?.intValue ?? 0), UInt64($0["size2"]?.intValue ?? 0), hexes($0["proof"])) })
    }

    func testPublishedRootsMatch() throws {
        let v = try Self.loadVectors()
        XCTAssertTrue(v.leaves.count == 8 && v.roots.count == 8)
        XCTAssertTrue(MerkleFrontier().root.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var tree = MemoryTree()
        for (i, leaf) in v.leaves.enumerated() {
            tree.append(leaf)
            XCTAssertTrue(tree.frontier.root == v.roots[i], "root of size \(i + 1)")
            XCTAssertTrue(try MerkleProofs.root(size: UInt64(i + 1), tree.node) == v.roots[i])
        }
    }

    func testPublishedInclusionProofsAreGeneratedAndVerified() throws {
        let v = try Self.loadVectors()
        XCTAssertTrue(!v.inclusion.isEmpty)
        var tree = MemoryTree()
        for leaf in v.leaves { tree.append(leaf) }
        for c in v.inclusion {
            let generated = try MerkleProofs.inclusionProof(index: c.index, size: c.size, tree.node)
            XCTAssertTrue(generated == c.path, "inclusion \(c.index) in \(c.size)")
            let root = v.roots[Int(c.size) - 1]
            let leafHash = MerkleHash.leaf(v.leaves[Int(c.index)])
            XCTAssertTrue(MerkleProofs.verifyInclusion(leafHash: leafHash, index: c.index, size: c.size, proof: c.path, root: root))
            if !c.path.isEmpty {
                var bad = c.path
                bad[0] = MerkleHash.leaf([0xFF])
                XCTAssertTrue(!MerkleProofs.verifyInclusion(leafHash: leafHash, index: c.index, size: c.size, proof: bad, root: root))
            }
            XCTAssertTrue(!MerkleProofs.verifyInclusion(leafHash: leafHash, index: c.index, size: c.size, proof: c.path + [root], root: root))
        }
    }

    func testPublishedConsistencyProofsAreGeneratedAndVerified() throws {
        let v = try Self.loadVectors()
        XCTAssertTrue(!v.consistency.isEmpty)
        var tree = MemoryTree()
        for leaf in v.leaves { tree.append(leaf) }
        for c in v.consistency {
            let generated = try MerkleProofs.consistencyProof(oldSize: c.old, newSize: c.new, tree.node)
            XCTAssertTrue(generated == c.proof, "consistency \(c.old)→\(c.new)")
            let oldRoot = v.roots[Int(c.old) - 1]
            let newRoot = v.roots[Int(c.new) - 1]
            XCTAssertTrue(MerkleProofs.verifyConsistency(oldSize: c.old, newSize: c.new, oldRoot: oldRoot, newRoot: newRoot, proof: c.proof))
            if c.old < c.new {
                XCTAssertFalse(MerkleProofs.verifyConsistency(oldSize: c.old, newSize: c.new, oldRoot: newRoot, newRoot: newRoot,
                    proof: c.proof))
            }
        }
    }

    /// Every inclusion and consistency proof of every tree up to 70 leaves verifies, and a wrong
    /// leaf or root does not.
    func testAllSmallTreesProveAndVerify() throws {
        var tree = MemoryTree()
        var roots: [Digest32] = [MerkleHash.emptyRoot]
        for i in 0..<70 {
            tree.append([UInt8(i), 0xAB])
            roots.append(tree.frontier.root)
        }
        for size in UInt64(1)...70 {
            let root = roots[Int(size)]
            for index in 0..<size {
                let path = try MerkleProofs.inclusionProof(index: index, size: size, tree.node)
                let leaf = MerkleHash.leaf([UInt8(index), 0xAB])
                XCTAssertTrue(MerkleProofs.verifyInclusion(leafHash: leaf, index: index, size: size, proof: path, root: root))
                XCTAssertTrue(!MerkleProofs.verifyInclusion(leafHash: MerkleHash.leaf([1, 2, 3]), index: index, size: size, proof: path, root: root))
            }
            for old in UInt64(1)...size {
                let proof = try MerkleProofs.consistencyProof(oldSize: old, newSize: size, tree.node)
                XCTAssertTrue(MerkleProofs.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)], newRoot: root, proof: proof))
                // The root of another size is not consistent.
                XCTAssertTrue(!MerkleProofs.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old) - 1],
                    newRoot: root, proof: proof))
            }
        }
    }

    func testFrontierRebuildsFromStoredNodes() throws {
        var tree = MemoryTree()
        for i in 0..<1000 {
            tree.append([UInt8(i & 0xFF), UInt8(i >> 8)])
            if i % 97 == 0 {
                let rebuilt = try MerkleFrontier(size: tree.frontier.size, node: tree.node)
                XCTAssertTrue(rebuilt == tree.frontier)
            }
        }
        // Post-order positions grow strictly in completion order (so LMDB can use MDB_APPEND).
        XCTAssertTrue(tree.nodes.keys.sorted() == Array(0..<UInt64(tree.nodes.count)))
    }
}
