import ArgumentParser
import Ledger

/// `kvitto ledger export --ledger DIR --to DEST`: events as JSON lines and the blobs they reference.
struct LedgerExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every event as JSON lines and the blobs they reference, in a layout checked without Kvitto (Schemas/backup.md).",
        discussion: """
            DEST/events.jsonl holds one canonical envelope per line (as `ledger show --json`), DEST/blobs/ the referenced \
            blobs as the blob store keeps them, DEST/export.json the head, the checkpoint and the SHA-256 of events.jsonl. \
            Safe while the node runs. Tests/vectors/check_ledger_vectors.py --events DEST/events.jsonl --blobs DEST/blobs \
            verifies an export independently.
            """)

    @OptionGroup var location: LedgerLocation

    @Option(name: .customLong("to"), help: "A new (or empty) folder.")
    var destination: String

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        let summary = try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            defer { ledger.close() }
            return try LedgerExport(ledger: ledger, to: destination).run()
        }
        if json {
            let o: JSONValue = [
                "events": .int(Int64(summary.events)), "head_hash": summary.headHash.map { .string($0.hex) } ?? .null,
                "events_sha256": .string(summary.eventsSHA256), "blobs": .int(Int64(summary.blobs)),
                "blob_bytes": .int(summary.blobBytes), "blobs_erased": .int(Int64(summary.erased)),
            ]
            print(String(decoding: CanonicalJSON.encode(o), as: UTF8.self))
        } else {
            print("exported \(summary.events) events and \(summary.blobs) blobs (\(summary.blobBytes) bytes, \(summary.erased) erased) to \(destination)")
        }
    }
}
