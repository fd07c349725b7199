import ArgumentParser
import Foundation
import Ledger

/// `kvitto ledger demo`: the ledger on its own — a message's life as signed events, a checkpoint,
/// proofs, a key rotation, verification.
struct LedgerDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Run the demonstration: record a message's life as signed events, checkpoint, prove, rotate the key, verify.")

    @Option(help: "Ledger directory to use (default: a fresh temporary one, kept and printed).")
    var dir: String?

    func run() async throws {
        let path = dir ?? NSTemporaryDirectory() + "kvitto-demo-\(UUID().uuidString)"
        try await CLI.run {
            var options = LedgerOptions()
            options.create = true
            let ledger = try Ledger.open(at: path, options: options)
            defer { ledger.close() }
            print("Ledger: \(path)")
            let message = "message:" + UUID().uuidString.lowercased()
            let from = "mailbox:socialtjansten@malmo.se"
            _ = try await ledger.append([
                EventDraft(type: "addressbook.function.added", subject: from, actor: "admin@malmo.se",
                    payload: ["organization": "0203:malmo.se", "name": "Socialtjänsten, Malmö stad"]),
                EventDraft(type: "message.submitted", subject: message, actor: "handlaggare@malmo.se",
                    payload: ["from": .string(from), "to": "mailbox:socialtjansten@lund.se", "confidentiality": true]),
            ])
            _ = try await ledger.append(EventDraft(type: "message.dispatched", subject: message, actor: "node",
                payload: ["attempt": 1, "endpoint": "https://ap.lund.se/as4"]))
            _ = try await ledger.append(EventDraft(type: "transport.receipt.received", subject: message, actor: "ap.lund.se",
                payload: ["as4_message_id": "demo@kvitto"]))
            let checkpoint = try await ledger.checkpoint()
            print("\nEvents:")
            for e in try ledger.events(from: 1, limit: 100) { print("  " + e.line) }
            print("\nCheckpoint at seq \(checkpoint.event.seq): tree size \(checkpoint.treeSize), root \(checkpoint.root)")
            let proof = try ledger.inclusionProof(seq: 3)
            print("Inclusion proof of seq 3 (\(proof.path.count) hashes): \(proof.isValid ? "valid" : "INVALID")")
            let rotation = try await ledger.rotateKey()
            print("Key rotated at seq \(rotation.seq): \(rotation.key) → \(rotation.payload["key"]?.stringValue ?? "?") (the old key signs the rotation)")
            _ = try await ledger.append(EventDraft(type: "message.receipt.received", subject: message, actor: "ap.lund.se",
                payload: ["status": "ACCEPTED"]))
            let consistency = try ledger.consistencyProof(oldSize: checkpoint.treeSize, newSize: try ledger.head().seq)
            let newRoot = try ledger.merkleRoot(size: try ledger.head().seq)
            let consistent = MerkleProofs.verifyConsistency(oldSize: checkpoint.treeSize, newSize: try ledger.head().seq,
                oldRoot: checkpoint.root, newRoot: newRoot, proof: consistency)
            print("Consistency of tree \(checkpoint.treeSize) with tree \(try ledger.head().seq): \(consistent ? "proven" : "FAILED")")
            let report = LedgerVerifier(ledger: ledger).run()
            if let f = report.failure { throw CLI.fail("verification failed: \(f)", code: 1) }
            print("Verify: OK, \(report.events) events, keys \(report.keys.joined(separator: " → "))")
            print("\nTry: kvitto ledger verify --ledger \(path)")
            guard proof.isValid, consistent else { throw CLI.fail("proof check failed", code: 1) }
        }
    }
}
