import Foundation
import Projections
import Transport
import X509

/// Decides the Meddelandekvittens for one inbound XHE, in the order that gives a hostile sender
/// the least: (1) the O2O signature and that its signer is the FromParty — nothing in an
/// unauthenticated document is validated or decrypted; (2) the XHE against the XSD and DIGG
/// rules, its document type against the message action, its function against the recipient's
/// mailboxes; (3) decryption, where every failure gives the one fixed line
/// ``decryptionFailure``; (4) the SDK message against the XSD and DIGG rules; (5) that the SDK
/// message's sender is the FromParty and its recipient the addressed function. At most
/// ``maxLines`` lines are answered, then one saying how many more there were.
struct InboundReview {
    /// The only answer a sender gets for a payload that does not decrypt or, once decrypted, is
    /// not an acceptable XML document: one SIG line with this text and LineID `NA`, whatever went
    /// wrong (padding, key unwrap, length, encoding, well-formedness), so the answer says nothing
    /// about the plaintext. The cause goes to the node's log and to our own ledger event.
    static let decryptionFailure = "The payload could not be decrypted with the recipient organisation's O2O key."
    /// Most lines in one Meddelandekvittens (the rest are counted in one more line).
    static let maxLines = 100
    /// Longest reason text in a line (longer ones are cut, with an ellipsis).
    static let maxReasonCharacters = 600

    let validator: SDKValidator
    let trust: CertificateTrust
    /// The recipient's O2O identities that may decrypt: the current one, then earlier ones in
    /// their overlap (``NodeKeys/o2oDecryption(_:)``).
    let decryption: [SigningIdentity]
    /// Where a function of the recipient leads (see ``MailboxResolution``).
    let mailboxes: MailboxResolution

    /// The verdict and what an accepted message brings.
    struct Outcome {
        var lines: [MessageReceipt.Line] = []
        /// The decrypted, valid SDK message (only when `lines` is empty).
        var message: SDKMessage?
        var payload: [UInt8]?
        /// The functional address the message is filed under.
        var mailbox: FunctionalAddress?
        /// What went wrong in detail, for our own log and ledger only (never sent).
        var internalDetail: String?
    }

    /// The XHE's identity, for the Meddelandekvittens that answers it.
    struct Header {
        var id: String
        var fromParty: String
        var toParty: String
        var handlingServiceID: String?
    }

    /// Reviews the XHE that `load` reads (the stored blob). Each stage keeps only what the next
    /// needs, so the XHE's bytes and tree are gone before the decrypted message is parsed: the
    /// memory a maximal message takes is that of its largest stage, not of all of them.
    /// Throws what `load` throws, and ``NodeError/Code/storage`` when the stored XHE is not one.
    func review(loading load: () throws(NodeError) -> [UInt8], at now: Date) async throws(NodeError) -> (Header, Outcome) {
        var checked = try await checkEnvelope(load, at: now)
        var out = Outcome()
        out.mailbox = checked.mailbox
        guard checked.lines.isEmpty, checked.content != nil else {
            out.lines = checked.lines
            return (checked.header, capped(out))
        }
        let decrypted = decrypt(&checked.content, into: out)
        return (checked.header, readMessage(decrypted, header: checked.header))
    }

    /// Stages (1) and (2): what the signature and the envelope say.
    private struct CheckedEnvelope {
        var header: Header
        var lines: [MessageReceipt.Line] = []
        var mailbox: FunctionalAddress?
        /// The payload, when the envelope passed.
        var content: XHEEnvelope.Content?
    }

    private func checkEnvelope(_ load: () throws(NodeError) -> [UInt8], at now: Date) async throws(NodeError) -> CheckedEnvelope {
        let (document, byteCount) = try Self.parse(load)
        // The header was read on arrival, so failing to read it now is ours; the payload was not
        // (a malformed PayloadContent is the sender's, answered below).
        let envelope: XHEEnvelope
        do { envelope = try XHEEnvelope(headerOf: document) } catch {
            throw NodeError(.storage, "the stored XHE cannot be read: \(error)")
        }
        var out = CheckedEnvelope(header: Header(id: envelope.id, fromParty: envelope.fromParty, toParty: envelope.toParty,
                                                 handlingServiceID: envelope.payload.handlingServiceID))
        // (1) Who signed it, before anything else is read.
        do {
            let signer = try await XMLSignatureVerifier(trust: trust).verify(document, at: now).signer
            guard OrganizationBinding.matches(signer, participant: envelope.fromParty) else {
                out.lines = [.init(lineID: "NA", code: .signature, reasonCode: nil,
                                   reason: "The XHE is signed by \(OrganizationBinding.describe(signer)), not by its FromParty \(envelope.fromParty).")]
                return out
            }
        } catch {
            out.lines = [.init(lineID: "NA", code: .signature, reasonCode: nil, reason: "The XHE signature is not accepted: \(error)")]
            return out
        }
        // (2) The envelope.
        out.lines += validator.validate(document, kind: .xhe, byteCount: byteCount).violations.map(MessageReceipt.Line.init)
        if envelope.payload.documentTypeCode != XHEEnvelope.DocumentType.sdkMessage.documentTypeCode {
            out.lines.append(.init(lineID: "NA", code: .businessRule, reasonCode: nil,
                                   reason: "The XHE payload is of document type \(envelope.payload.documentTypeCode); the message action carries SDK messages only."))
        }
        switch mailboxes.resolve(function: envelope.payload.handlingServiceID) {
        case .mailbox(let address):
            out.mailbox = address
        case .unknown(let reason):
            out.lines.append(.init(lineID: document.locationOfHandlingServiceID ?? "NA", code: .businessRule, reasonCode: nil, reason: reason))
        }
        guard out.lines.isEmpty else { return out }
        do { out.content = try XHEEnvelope(document: document).payload.content } catch {
            out.lines = [.init(lineID: "NA", code: .schema, reasonCode: nil, reason: "The XHE PayloadContent cannot be read: \(error)")]
        }
        return out
    }

    /// The stored XHE, parsed; its bytes are released when this returns.
    private static func parse(_ load: () throws(NodeError) -> [UInt8]) throws(NodeError) -> (XMLDocument, Int) {
        let bytes = try load()
        do { return (try XMLDocument(bytes: bytes), bytes.count) } catch {
            throw NodeError(.storage, "the stored XHE cannot be read: \(error)")
        }
    }

    /// Stage (3): the payload, decrypted; every failure looks the same from outside. Returns the
    /// plaintext in `payload`, or the refusal in `lines`.
    /// Takes `content` (leaving nil), so the ciphertext is released once decrypted.
    private func decrypt(_ content: inout XHEEnvelope.Content?, into outcome: Outcome) -> Outcome {
        var out = outcome
        guard let taken = content.take() else { return out }
        switch taken {
        case .xml(let bytes):
            out.payload = bytes
        case .text, .notRead:
            out.lines = [.init(lineID: "NA", code: .schema, reasonCode: nil, reason: "The XHE payload is text, not an SDK message.")]
        case .encrypted(let data):
            // The same answer whichever key failed: one fixed line, the causes in our log only.
            var failures: [String] = []
            for identity in decryption {
                do {
                    out.payload = try XMLEncryption.decrypt(data, with: identity)
                    return out
                } catch { failures.append("\(error)") }
            }
            return decryptionFailed(out, detail: failures.isEmpty ? "no O2O identity to decrypt with" : failures.joined(separator: "; "))
        }
        return out
    }

    /// Stages (4) and (5): the decrypted SDK message and the parties named in it.
    private func readMessage(_ decrypted: Outcome, header: Header) -> Outcome {
        guard decrypted.lines.isEmpty, let plain = decrypted.payload else { return decrypted }
        var out = decrypted
        out.payload = nil
        let payload: XMLDocument
        do { payload = try XMLDocument(bytes: plain, limits: validator.limits) } catch {
            return decryptionFailed(out, detail: "the decrypted payload is not acceptable XML: \(error)")
        }
        // (4) The SDK message.
        guard SDKDocumentKind(root: payload.root) == .sdkMessage else {
            out.lines = [.init(lineID: "NA", code: .schema, reasonCode: nil,
                               reason: "The XHE payload is \(payload.root.localName), not an SDK message v3 (messagePayload).")]
            return out
        }
        out.lines += validator.validate(payload, kind: .sdkMessage, byteCount: plain.count).violations.map(MessageReceipt.Line.init)
        guard out.lines.isEmpty else { return capped(out) }
        let message: SDKMessage
        do { message = try SDKMessage(element: payload.root) } catch {
            out.lines = [.init(lineID: "NA", code: .schema, reasonCode: nil, reason: "The SDK message cannot be read: \(error)")]
            return out
        }
        // (5) The parties named inside agree with the envelope its signer vouched for.
        let sender = message.header.sender.id
        if sender.root != SDKAS4.participantScheme || sender.extension != header.fromParty {
            out.lines.append(.init(lineID: "/tns:messagePayload[1]/tns:message[1]/tns:messageHeader[1]/tns:sender[1]", code: .businessRule,
                                   reasonCode: nil,
                                   reason: "The SDK message's sender \(sender.extension) is not the XHE FromParty \(header.fromParty), which signed it."))
        }
        let recipient = message.header.recipient
        let function = recipient.attention.subOrganization.id.extension
        if recipient.id.extension != header.toParty || (header.handlingServiceID.map { $0 != function } ?? false) {
            out.lines.append(.init(lineID: "/tns:messagePayload[1]/tns:message[1]/tns:messageHeader[1]/tns:recipient[1]", code: .businessRule,
                                   reasonCode: nil,
                                   reason: "The SDK message is addressed to \(function)@\(recipient.id.extension), not to the XHE's \(header.handlingServiceID ?? "")@\(header.toParty)."))
        }
        guard out.lines.isEmpty else { return out }
        out.message = message
        out.payload = plain
        return out
    }

    private func decryptionFailed(_ outcome: Outcome, detail: String) -> Outcome {
        var out = outcome
        out.lines = [.init(lineID: "NA", code: .signature, reasonCode: nil, reason: Self.decryptionFailure)]
        out.internalDetail = detail
        return out
    }

    /// At most ``maxLines`` lines of at most ``maxReasonCharacters`` each, then one line counting
    /// the rest: a Meddelandekvittens (and its ledger event) stays small whatever was sent.
    private func capped(_ outcome: Outcome) -> Outcome {
        var out = outcome
        out.lines = out.lines.prefix(Self.maxLines).map { line in
            var l = line
            if l.reason.count > Self.maxReasonCharacters { l.reason = String(l.reason.prefix(Self.maxReasonCharacters)) + "…" }
            if l.lineID.count > Self.maxReasonCharacters { l.lineID = "NA" }
            return l
        }
        if outcome.lines.count > Self.maxLines {
            out.lines.append(.init(lineID: "NA", code: outcome.lines[Self.maxLines].code, reasonCode: nil,
                                   reason: "… and \(outcome.lines.count - Self.maxLines) more violations."))
        }
        return out
    }
}

extension XMLDocument {
    /// The XPath of the XHE's HandlingServiceID, when present.
    fileprivate var locationOfHandlingServiceID: String? {
        elementsInOrder.first { $0.localName == "HandlingServiceID" }.map { location(of: $0) }
    }
}
