import Foundation
import Transport

/// Runs the input as the synchronous AS4 response to a message we sent through
/// ``AS4ResponseVerifier``: XMLDocument with the response limits, the envelope's parts, the
/// SignalMessage (receipt with its non-repudiation references, errors, pull request) and the
/// WS-Security signature.
enum SignalFuzzTarget {
    /// The eb:MessageId of the message the responses answer; the seeds' receipts refer to it.
    static let sentMessageId = "sent.fuzz@kvitto"

    /// A verifier expecting some other access point's certificate: a valid seed signature gets
    /// through the signature check and is then refused as signed by another certificate.
    static let verifier: AS4ResponseVerifier? = {
        guard let pki = try? ThrowawayPKI(commonName: "Kvitto fuzz CA"),
              let peer = try? pki.issue(commonName: "AP-FUZZ-PEER") else { return nil }
        return AS4ResponseVerifier(expectedSigner: peer.certificate, trust: nil)
    }()
    private static let sent = AS4WireMessage(soap: [], attachments: [], signedReferences: [], messageId: sentMessageId)

    static func run(_ input: [UInt8]) -> Bool {
        guard let verifier else { fatalError("cannot make the fuzz target's certificate") }
        do {
            _ = try verifier.check(input, sent: sent, at: Date())
            return true
        } catch {
            // A valid seed ends here: its signature verifies, but with another certificate.
            return error.detail.hasSuffix("not by the access point we sent to") || error.detail.hasSuffix("signed by another certificate")
        }
    }
}
