import ArgumentParser
import Foundation
import Ledger
import Transport

/// `kvitto sdk verify`: strict verification of the enveloped signature and of the signer's chain.
struct SDKVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the enveloped XML signature of an XHE or Meddelandekvittens and the signer's certificate.",
        discussion: "Exit status 0 when valid, 1 with the typed reason (e.g. signature.digest_mismatch, signature.untrusted), 2 on usage errors."
    )

    @Argument(help: "The signed document (`-` for standard input).")
    var file: String

    @Option(help: "Trust anchors: a certificate file or a folder of certificates (e.g. the SDK O2O CAs).")
    var trust: String

    @Option(help: "Check validity at this time (ISO 8601, e.g. 2026-11-22T12:00:00Z) instead of now.")
    var at: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        var time = Date()
        if let at {
            guard let t = ISO8601DateFormatter().date(from: at) else { throw CLI.fail("--at \(at) is not an ISO 8601 time") }
            time = t
        }
        let verifier = XMLSignatureVerifier(trust: try SDKFiles.trust(trust, role: .o2o))
        let bytes = try SDKFiles.read(file)
        do {
            let result = try await verifier.verify(bytes, at: time)
            let subject = String(describing: result.signer.subject)
            if json {
                print(String(decoding: CanonicalJSON.encode(["valid": true, "signer": .string(subject)]), as: UTF8.self))
            } else {
                print("valid signature by \(subject)")
            }
        } catch {
            if json {
                print(String(decoding: CanonicalJSON.encode(["valid": false, "code": .string(error.code),
                                                             "message": .string(error.description)]), as: UTF8.self))
            } else {
                print("INVALID: \(error.description)")
            }
            throw ExitCode(1)
        }
    }
}
