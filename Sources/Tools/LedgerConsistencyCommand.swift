import ArgumentParser
import Ledger

/// `kvitto ledger consistency`: proof that an older tree is a prefix of a newer one.
struct LedgerConsistencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consistency",
        abstract: "Print the consistency proof between two tree sizes (RFC 9162), as JSON.")

    @OptionGroup var location: LedgerLocation

    @Option(help: "The older tree size, e.g. from a checkpoint you kept.")
    var old: UInt64

    @Option(help: "The newer tree size (default: the latest checkpoint's).")
    var new: UInt64?

    func run() async throws {
        try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            guard let newSize = try new ?? ledger.head().checkpoint?.treeSize else {
                throw LedgerError(.noCheckpoint, "the ledger has no checkpoint yet; pass --new")
            }
            let proof = try ledger.consistencyProof(oldSize: old, newSize: newSize)
            let oldRoot = try ledger.merkleRoot(size: old)
            let newRoot = try ledger.merkleRoot(size: newSize)
            let o: JSONValue = [
                "old_size": .int(Int64(old)), "new_size": .int(Int64(newSize)),
                "old_root": .string(oldRoot.hex), "new_root": .string(newRoot.hex),
                "proof": .array(proof.map { .string($0.hex) }),
                "valid": .bool(MerkleProofs.verifyConsistency(oldSize: old, newSize: newSize, oldRoot: oldRoot,
                    newRoot: newRoot, proof: proof)),
            ]
            print(String(decoding: CanonicalJSON.encode(o), as: UTF8.self))
        }
    }
}
