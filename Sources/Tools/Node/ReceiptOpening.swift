import Foundation
import Projections
import Transport

/// Opens a Meddelandekvittens addressed to one of our participants, the same way whether it
/// came over AS4 or from another participant of this node: the XHE's O2O signature must verify
/// against the O2O trust and its signer be the XHE's FromParty; the payload is decrypted with the
/// recipient's O2O key and must be a Meddelandekvittens; and it must answer an outbound message
/// of that recipient sent to that FromParty the same way (over AS4, or inside the node).
struct ReceiptOpening {
    /// Why a Meddelandekvittens was not filed. For a peer, AS4 maps these to fixed texts.
    enum Refusal: Error {
        /// The XHE did not verify or decrypt, or the plaintext is not a Meddelandekvittens (the
        /// cause, for our log only).
        case unreadable(String)
        /// Signed, but not by the organisation named as its FromParty.
        case wrongSigner(fromParty: String)
        /// The XHE carries no XML payload.
        case noPayload
        /// It answers a message that the recipient did not send to its FromParty.
        case unknownReference(String)
        /// Our own storage failed while looking up the message it answers.
        case storage(NodeError)
    }

    /// An opened Meddelandekvittens and the message it answers.
    struct Opened {
        var receipt: MessageReceipt
        /// The decrypted Meddelandekvittens, as stored.
        var plain: [UInt8]
        /// The outbound message it answers.
        var original: MessageRecord
        /// The organisation that issued it (the XHE FromParty, its signer).
        var fromParty: String
    }

    let node: Node

    /// Opens `xhe` for `recipient`; `internal` says whether it came from a participant of this
    /// node rather than over AS4.
    func open(_ xhe: [UInt8], recipient: String, internal isInternal: Bool, at now: Date = Date()) async throws(Refusal) -> Opened {
        // The current O2O identity first, then earlier ones still in their overlap.
        var opened: XHESecurity.Opened?
        var failures: [String] = []
        for identity in node.keys.o2oDecryption(recipient) {
            do {
                opened = try await XHESecurity.open(xhe, verifier: XMLSignatureVerifier(trust: node.keys.o2oTrust), decryptionIdentity: identity, at: now)
                break
            } catch { failures.append("\(error)") }
        }
        guard let opened else { throw .unreadable(failures.isEmpty ? "no O2O identity of \(recipient)" : failures.joined(separator: "; ")) }
        guard let signer = opened.signer, OrganizationBinding.matches(signer, participant: opened.envelope.fromParty) else {
            throw .wrongSigner(fromParty: opened.envelope.fromParty)
        }
        guard let plain = opened.payload else { throw .noPayload }
        let receipt: MessageReceipt
        do { receipt = try MessageReceipt(element: try XMLDocument(bytes: plain).root) } catch {
            throw .unreadable("the decrypted payload is not a Meddelandekvittens: \(error)")
        }
        let original: MessageRecord?
        do { original = try node.read { try $0.message(receipt.documentReference) } } catch { throw .storage(error) }
        guard let original, original.direction == .outbound, original.participant == recipient,
              original.to?.participant == opened.envelope.fromParty, original.isInternal == isInternal else {
            throw .unknownReference(receipt.documentReference)
        }
        return Opened(receipt: receipt, plain: plain, original: original, fromParty: opened.envelope.fromParty)
    }
}
