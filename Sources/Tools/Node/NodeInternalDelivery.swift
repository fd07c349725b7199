import Foundation
import Ledger
import Projections
import Transport

/// Delivery between two participants of this node (or two functional mailboxes of one of them):
/// the SDK semantics of an external exchange without the AS4 hop. The XHE is sealed by the
/// sender's O2O key for the recipient's O2O certificate and opened, validated and answered by the
/// recipient exactly as one that came over AS4 (``InboundReview``); the Meddelandekvittens is
/// sealed by the recipient and opened by the sender (``ReceiptOpening``). Each hand-over is one
/// append holding both sides' events, so nothing is lost or doubled between them, and the
/// events say `transport: internal`. The recipient's record has its own id
/// (``NodeEventType/internalCopy(of:)``), so each participant's view holds only its side.
extension Node {
    /// A fresh message id; for a message delivered inside the node, one whose recipient copy's id
    /// is unused too (an inbound XHE ID could, in principle, already be it).
    func newMessageID(internal isInternal: Bool) throws(NodeError) -> String {
        for _ in 0..<4 {
            let id = UUID().uuidString.lowercased()
            let ids = isInternal ? [id, NodeEventType.internalCopy(of: id)] : [id]
            if try read({ r in try ids.allSatisfy { try r.message($0) == nil } }) { return id }
        }
        throw NodeError(.storage, "no unused message id was found; the message projection may be damaged (run `kvitto projections rebuild`)")
    }

    /// The events that hand message `id` (its sealed XHE stored as `xhe`) to the recipient
    /// participant: its `message.received`, filed under the addressed mailbox as an inbound
    /// XHE would be, and the sender's `message.delivered.internally`.
    func handOver(_ id: String, xhe: BlobRef, from: FunctionalAddress, to: FunctionalAddress, conversation: String)
        throws(NodeError) -> [EventDraft]
    {
        guard let participant = keys.participants.participant(to.participant) else {
            throw NodeError(.notAParticipant, "this node does not serve \(to.participant)")
        }
        let copy = NodeEventType.internalCopy(of: id)
        var received: [String: JSONValue] = [
            "participant": .string(to.participant), "transport": .string(NodeEventType.internalTransport), "xhe_id": .string(id),
            "original_sender": .string(from.participant), "conversation_id": .string(conversation), "xhe": BlobField.json(xhe),
            "addressed_function": .string(to.function),
        ]
        let book = try read { try $0.addressBook(participants: [participant.id]) }
        if case .mailbox(let address) = MailboxResolution(participant: participant, addressBook: book).resolve(function: to.function) {
            received["to"] = .string(address.description)
        }
        return [
            EventDraft(type: NodeEventType.received, typeVersion: 2, subject: NodeEventType.subject(message: copy), actor: "node",
                       payload: .object(received)),
            EventDraft(type: NodeEventType.deliveredInternally, subject: NodeEventType.subject(message: id), actor: "node",
                       payload: ["participant": .string(from.participant), "transport": .string(NodeEventType.internalTransport),
                                 "recipient_message_id": .string(copy)]),
        ]
    }

    /// The sender's side of a Meddelandekvittens issued for a message delivered inside the node:
    /// the sender's participant opens the sealed receipt as it would one that came over AS4, and
    /// gets `message.receipt.received` for its record. Appended with the issuer's
    /// `message.receipt.sent`.
    func receiveInternally(_ sealed: [UInt8], sealedBlob: BlobRef, sender: String, issuer: String) async throws(NodeError) -> EventDraft {
        let opened: ReceiptOpening.Opened
        do { opened = try await ReceiptOpening(node: self).open(sealed, recipient: sender, internal: true) } catch {
            // Both sides are ours: any failure here is our own configuration (keys, O2O trust).
            let why: String
            switch error {
            case .unreadable(let cause): why = cause
            case .wrongSigner(let fromParty): why = "it is not signed by its FromParty \(fromParty)"
            case .noPayload: why = "it has no XML payload"
            case .unknownReference(let reference): why = "it refers to \(reference), which \(sender) did not send inside the node"
            case .storage(let e): throw e
            }
            throw NodeError(.keyUnusable, "\(sender) cannot open the Meddelandekvittens of \(issuer): \(why); check both participants' O2O "
                                + "certificates against the O2O trust folder (`kvitto check`)")
        }
        var p: [String: JSONValue] = [
            "participant": .string(sender), "transport": .string(NodeEventType.internalTransport), "original_sender": .string(issuer),
            "receipt_id": .string(opened.receipt.id), "receipt": BlobField.json(try putBlob(opened.plain)), "xhe": BlobField.json(sealedBlob),
        ]
        p.merge(NodeInbound.verdict(opened.receipt.status)) { _, new in new }
        return EventDraft(type: NodeEventType.receiptReceived, typeVersion: 2, subject: NodeEventType.subject(message: opened.original.id),
                          actor: "node", payload: .object(p))
    }
}
