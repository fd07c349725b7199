import ArgumentParser
import Foundation
import Ledger
import Node
import Transport

/// `kvitto audit verify`: checks an evidence bundle without the node (Schemas/evidence-bundle.md §10).
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check an evidence bundle offline: events, proofs, keys, blobs, content, AS4 and SDK evidence, witnesses.",
        discussion: """
            Needs nothing but the file: no node, no ledger. Exit status 0 when nothing failed, 1 naming the first failure \
            (its code, region and where), 2 when the file cannot be read. Without --trust-key the key chain is anchored in \
            the bundle's own genesis event ("genesis key not pinned"); with --witness the ledger is also checked not to have \
            been rewritten up to a checkpoint you kept.
            """)

    @Argument(help: "The bundle (from `kvitto trace --evidence` or the API).") var file: String
    @Option(help: "Base64 Ed25519 public key the ledger's genesis event must name (held outside the node).") var trustKey: String?
    @Option(help: ArgumentHelp("A checkpoint you kept (the JSON line `kvitto ledger checkpoint` printed). Repeatable.", valueName: "file"))
    var witness: [String] = []
    @Option(help: ArgumentHelp("CA certificates (PEM or DER) the XML signatures' certificates must chain to: O2O for XHEs, AS4 for receipts. Repeatable; without, signers are listed for you to judge.", valueName: "file"))
    var ca: [String] = []
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        var verifier = EvidenceVerifier()
        verifier.trustedKey = try CLI.trustKey(trustKey)
        for path in witness { verifier.witnesses.append(try CLI.witnessJSON(file: path)) }
        for path in ca {
            do { verifier.cas += try CertificateFile.read(path: path) } catch { throw CLI.fail("cannot read the CA certificates in \(path): \(error)") }
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw CLI.fail("cannot read \(file)") }
        let report = await verifier.verify([UInt8](data))
        print(json ? String(decoding: CanonicalJSON.encode(report.json), as: UTF8.self) : report.text)
        if !report.ok { throw ExitCode(1) }
    }
}
