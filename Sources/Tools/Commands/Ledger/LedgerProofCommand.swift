import ArgumentParser
import Ledger

/// `kvitto ledger proof`: inclusion proof of one event to a checkpoint, as JSON.
struct LedgerProofCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "proof",
        abstract: "Print the inclusion proof of one event to the latest checkpoint, as JSON.",
        discussion: """
            The proof holds the event, the signed checkpoint event and the audit path (RFC 9162). Anyone can
            check it: leaf = SHA-256(0x00 ‖ event hash), fold the path into the root, compare with the
            checkpoint's root, and check the checkpoint's Ed25519 signature with the ledger key.
            """)

    @OptionGroup var location: LedgerLocation

    @Option(help: "The event to prove.")
    var seq: UInt64

    @Option(help: "Prove against the first checkpoint covering at least this many events, instead of the latest.")
    var treeSize: UInt64?

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            let proof = try ledger.inclusionProof(seq: seq, treeSize: treeSize)
            let o: JSONValue = [
                "seq": .int(Int64(seq)),
                "leaf_index": .int(Int64(proof.leafIndex)),
                "event_hash": .string(proof.event.hash.hex),
                "leaf_hash": .string(MerkleHash.leaf(proof.event.hash).hex),
                "tree_size": .int(Int64(proof.checkpoint.treeSize)),
                "root": .string(proof.checkpoint.root.hex),
                "path": .array(proof.path.map { .string($0.hex) }),
                "valid": .bool(proof.isValid),
                "event": proof.event.json,
                "checkpoint": proof.checkpoint.event.json,
            ]
            print(String(decoding: CanonicalJSON.encode(o), as: UTF8.self))
        }
    }
}
