import ArgumentParser
import Foundation
import Ledger
import Node

/// `kvitto restore --from BACKUP --node DIR`: a node directory from a verified backup.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make a node directory from a backup, after checking it (ledger, blobs, manifest, optionally a witness).",
        discussion: """
            Refuses a backup whose ledger does not verify (naming the first bad seq), that lacks a blob (naming it and the \
            event that references it), whose files do not match its manifest, or — with --witness — whose ledger does not \
            extend the checkpoint you kept outside the node. Nothing is written then. The restored node resumes at the \
            backup's ledger head; what the original node did later is not in it. Exit status 0 when restored, 2 otherwise.
            """)

    @Option(name: .customLong("from"), help: "The backup folder (made by `kvitto backup`).")
    var backup: String

    @OptionGroup var location: NodeLocation

    @Option(help: "A checkpoint kept outside the node (the output of `kvitto ledger checkpoint`); the backup must extend it.")
    var witness: String?

    @Option(help: "Base64 Ed25519 public key the ledger's genesis event must name.")
    var trustKey: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        let witnessed = try witness.map { try CLI.witness(file: $0) }
        let trusted = try CLI.trustKey(trustKey)
        let result = try await NodeCLI.run {
            try NodeRestore(backup: backup, to: location.node, witness: witnessed, trustedKey: trusted).run()
        }
        let m = result.check.manifest
        if json {
            let o: JSONValue = [
                "ok": true, "node": .string(location.node), "head_seq": .int(Int64(m.ledger.headSeq)), "head_hash": .string(m.ledger.headHash),
                "events_verified": .int(Int64(result.check.events)), "blobs_verified": .int(Int64(result.check.blobs.present)),
                "witness_checked": .bool(result.check.witness != nil), "missing_keys": .array(result.missingKeys.map { .string($0) }),
            ]
            print(String(decoding: CanonicalJSON.encode(o), as: UTF8.self))
            return
        }
        print("restored \(m.node) into \(location.node): \(result.check.events) events verified to seq \(m.ledger.headSeq), "
              + "\(result.check.blobs.present) blobs re-hashed" + (result.check.witness != nil ? ", extends the witness" : ""))
        if !result.missingKeys.isEmpty {
            print("the backup holds no keys; put these in place before `kvitto serve`: \(result.missingKeys.joined(separator: ", "))")
        }
    }
}
