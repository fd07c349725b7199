import ArgumentParser
import Foundation
import Ledger

/// `kvitto ledger consistency`: proof that an older tree is a prefix of a newer one, or — with a
/// witness kept outside the ledger — that the ledger still extends what the auditor saw.
struct LedgerConsistencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consistency",
        abstract: "Print the consistency proof between two tree sizes (RFC 9162), or check a kept checkpoint (--witness), as JSON.",
        discussion: """
            Keep a witness: save the output of `kvitto ledger checkpoint` somewhere the node cannot write. \
            Later, `kvitto ledger consistency --ledger DIR --witness FILE` exits 0 when the ledger still holds that \
            checkpoint and its newest checkpoint extends it, and 1 naming what was rewritten or removed — which \
            `verify` alone cannot see when the rewriter held the signing key.
            """)

    @OptionGroup var location: LedgerLocation

    @Option(help: "The older tree size, e.g. from a checkpoint you kept (not with --witness).")
    var old: UInt64?

    @Option(help: "The newer tree size (default: the latest checkpoint's).")
    var new: UInt64?

    @Option(help: "A checkpoint event kept outside the ledger (the JSON line `kvitto ledger checkpoint` printed).")
    var witness: String?

    @Option(help: "With --witness: base64 Ed25519 public key the witness must be signed by.")
    var trustKey: String?

    func run() async throws {
        if let witness {
            guard old == nil else { throw CLI.fail("--old and --witness exclude each other: the witness gives the old tree") }
            try await check(witnessFile: witness)
            return
        }
        guard let old else { throw CLI.fail("pass --old N (a tree size) or --witness FILE") }
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

    private func check(witnessFile: String) async throws {
        let witness = try CLI.witness(file: witnessFile)
        let trusted = try CLI.trustKey(trustKey)
        let check = try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            return try WitnessCheck.run(ledger: ledger, witness: witness, newSize: new, trustedKey: trusted)
        }
        var o: [String: JSONValue] = [
            "witness_seq": .int(Int64(check.witness.event.seq)), "old_size": .int(Int64(check.witness.treeSize)),
            "old_root": .string(check.witness.root.hex), "new_size": .int(Int64(check.newSize)),
            "new_root": .string(check.newRoot.hex), "proof": .array(check.proof.map { .string($0.hex) }),
            "valid": .bool(check.ok),
        ]
        if let problem = check.problem { o["problem"] = .string(problem) }
        print(String(decoding: CanonicalJSON.encode(.object(o)), as: UTF8.self))
        if !check.ok { throw ExitCode(1) }
    }
}
