import ArgumentParser
import Ledger

/// `kvitto ledger verify`: checks the whole log; names the first bad seq.
struct LedgerVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify hashes, chain, signatures, key rotations, checkpoints, Merkle nodes and referenced blobs.",
        discussion: "Exit status 0 when the ledger verifies, 1 naming the first bad seq when it does not, 2 when it cannot be read."
    )

    @OptionGroup var location: LedgerLocation

    @Option(help: "Base64 Ed25519 public key the genesis event must name (an anchor held outside the ledger).")
    var trustKey: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Do not check the blob store (every referenced blob present with its hash, or erased by a recorded event).")
    var skipBlobs = false

    func run() async throws {
        let trusted = try CLI.trustKey(trustKey)
        let (report, blobs) = try await CLI.run {
            let ledger = try Ledger.open(at: location.ledger, options: location.options(readOnly: true))
            var report = LedgerVerifier(ledger: ledger, trustedGenesisKey: trusted).run()
            // Blobs are checked against events that verified; a broken log is reported as such.
            guard report.ok, !skipBlobs else { return (report, BlobVerifier.Report?.none) }
            let blobs = BlobVerifier(ledger: ledger).run()
            report.failure = blobs.failure
            return (report, blobs)
        }
        if json {
            var o: [String: JSONValue] = [
                "ok": .bool(report.ok), "events": .int(Int64(report.events)), "checkpoints": .int(Int64(report.checkpoints)),
                "keys": .array(report.keys.map { .string($0) }), "root": .string(report.root.hex),
                "genesis_key_pinned": .bool(report.genesisPinned),
                "milliseconds": .int(Int64(report.seconds * 1000)),
            ]
            if let id = report.ledgerID { o["ledger_id"] = .string(id) }
            if let blobs {
                o["blobs"] = [
                    "referenced": .int(Int64(blobs.referenced)), "present": .int(Int64(blobs.present)),
                    "bytes": .int(blobs.bytes), "erased": .int(Int64(blobs.erased)),
                    "pending_erasures": .int(Int64(blobs.pendingErasures)), "erased_content_keys": .int(Int64(blobs.erasedContentKeys)),
                ]
            }
            if let f = report.failure {
                o["failure"] = ["seq": .int(Int64(f.seq)), "code": .string(f.code.rawValue), "message": .string(f.message)]
            }
            print(String(decoding: CanonicalJSON.encode(.object(o)), as: UTF8.self))
        } else if let f = report.failure {
            print("FAILED at seq \(f.seq): \(f.code.rawValue): \(f.message)")
            if blobs != nil {
                print("(all \(report.events) events verified; the blob store does not match what event \(f.seq) references)")
            } else {
                print("(\(report.events) events before it verified)")
            }
        } else {
            print("OK: \(report.events) events, \(report.checkpoints) checkpoints, keys \(report.keys.joined(separator: " → ")), root \(report.root)")
            if let blobs {
                print("blobs: \(blobs.referenced) referenced, \(blobs.present) present and re-hashed (\(blobs.bytes) bytes), \(blobs.erased) erased by recorded events"
                    + (blobs.pendingErasures > 0 ? ", \(blobs.pendingErasures) erasures pending (erase again to finish)" : ""))
                if blobs.erasedContentKeys > 0 {
                    print("content keys erased: \(blobs.erasedContentKeys) (their messages' encrypted content is crypto-shredded: unreadable with any key)")
                }
            }
            if !report.genesisPinned {
                print("note: the genesis key was not pinned; pass --trust-key to anchor the verification outside the ledger")
            }
        }
        if !report.ok { throw ExitCode(1) }
    }
}
