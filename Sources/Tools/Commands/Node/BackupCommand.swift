import ArgumentParser
import Foundation
import Ledger
import Node

/// `kvitto backup --node DIR --to DEST`: a consistent copy of a node, running or stopped.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a node (running or stopped) into a new folder: ledger, blobs, projections, configuration; keys only when asked.",
        discussion: """
            The copy is consistent without stopping the node: projections and queued submissions are copied first, then the \
            ledger in one LMDB read transaction (compacted), then exactly the blobs its events reference, re-hashed on the way. \
            A manifest records the ledger head and checkpoint and the SHA-256 of every file; the backup is read back and \
            verified before the command succeeds. Private keys (ledger signing keys, AS4/TLS/O2O keys) are copied only with \
            --include-keys, under keys/ — keep that part apart. The webhook store holds the subscriptions' signing secrets: \
            protect the backup as you would the node. Exit status 0 when the backup verifies, 2 otherwise. See Schemas/backup.md.
            """)

    @OptionGroup var location: NodeLocation

    @Option(name: .customLong("to"), help: "A new (or empty) folder for the backup.")
    var destination: String

    @Flag(help: "Also copy the private keys, under keys/ in the backup.")
    var includeKeys = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        let result = try await NodeCLI.run {
            try NodeBackup(node: location.node, to: destination, includeKeys: includeKeys).run()
        }
        let m = result.manifest
        if json {
            var o: [String: JSONValue] = [
                "ok": true, "backup": .string(destination), "node": .string(m.node),
                "head_seq": .int(Int64(m.ledger.headSeq)), "head_hash": .string(m.ledger.headHash),
                "files": .int(Int64(m.files.count)), "blobs": .int(Int64(m.blobs.copied)), "blobs_erased": .int(Int64(m.blobs.erased)),
                "bytes": .int(result.bytes), "milliseconds": .int(Int64(result.seconds * 1000)), "keys": .bool(m.keys),
                "keys_left_out": .array(result.keysLeftOut.map { .string($0) }),
                "external": .array(m.external.map { .string($0) }), "skipped": .array(result.skipped.map { .string($0) }),
            ]
            if let size = m.ledger.checkpointTreeSize { o["checkpoint_tree_size"] = .int(Int64(size)) }
            print(String(decoding: CanonicalJSON.encode(.object(o)), as: UTF8.self))
            return
        }
        print("backup of \(m.node) in \(destination): ledger to seq \(m.ledger.headSeq) (\(m.ledger.headHash.prefix(16))…), "
              + "\(m.blobs.copied) blobs, \(m.files.count) files, \(result.bytes) bytes in \(String(format: "%.1f", result.seconds)) s; verified")
        if !m.keys {
            print("keys not included (\(result.keysLeftOut.count) files): a restored node needs them; back them up separately or pass --include-keys")
        }
        if !m.external.isEmpty { print("not copied, outside the node directory: \(m.external.joined(separator: ", "))") }
        if !result.skipped.isEmpty { print("not copied (not regular files): \(result.skipped.joined(separator: ", "))") }
    }
}
