import Crypto
import Foundation
import Ledger
import Projections
import Transport
import X509

/// The checks of an evidence bundle that read its XML evidence (Schemas/evidence-bundle.md
/// §10.7–§10.9): the AS4 receipts against what the node recorded as signed, the XHEs and
/// Meddelandekvittens against the events, and the XML signatures.
enum EvidenceTransportChecks {
    typealias Failure = EvidenceReport.Failure
    typealias State = EvidenceVerifier.State

    /// How a check's inputs stood: all full and included (proven), something redacted (stated),
    /// or a blob it needs not included (not checked).
    struct Tally {
        var stated = false
        var missing: [String] = []

        func result(_ state: inout State, region: String) {
            state.report.notChecked += missing
            state.report.checks[region] = !missing.isEmpty ? .notChecked : stated ? .stated : .proven
        }
    }

    /// Payload of every events entry with its seq, in order.
    private static func entries(_ state: State) -> [(seq: UInt64, type: String, payload: JSONValue, full: Bool)] {
        state.bundle.events.map { e in
            let p = state.payloads[e.seq]!
            return (e.seq, p.type, p.payload, p.full)
        }
    }

    /// The included bytes of the blob `ref` names (`{sha256, size}`), or nil.
    private static func data(_ state: State, _ ref: JSONValue?) -> [UInt8]? {
        guard let sha = ref?["sha256"]?.stringValue?.lowercased() else { return nil }
        return state.bundle.blobs.first { $0.sha256 == sha && $0.state == "included" }?.data
    }

    /// The signed references a dispatch recorded.
    private static func recorded(_ dispatch: JSONValue?) -> [SignedReference] {
        (dispatch?["signed_references"]?.arrayElements ?? []).compactMap(SignedReferenceJSON.parse)
    }

    // MARK: 10.7

    static func transport(_ state: inout State) throws(Failure) {
        var tally = Tally()
        let all = entries(state)
        for t in all where t.full && t.type == "transport.receipt.received" {
            let id = t.payload["as4_message_id"]?.stringValue
            // The last sealing before the receipt (a message sealed again is acknowledged as last sealed).
            guard let d = all.last(where: {
                $0.seq < t.seq && ["message.submitted", "message.receipt.sent", "message.resealed"].contains($0.type)
                    && $0.payload["dispatch"]?["as4_message_id"]?.stringValue == id
            }) else {
                throw Failure("receipt_unmatched", "transport", seq: t.seq, "no dispatch in the bundle has AS4 MessageId \(id ?? "?")")
            }
            if !d.full { tally.stated = true }
            let dispatch = d.payload["dispatch"]
            let signed = recorded(dispatch)
            if let receipt = data(state, t.payload["receipt"]) {
                let e: AS4Evidence
                do { e = try AS4Evidence(receipt) } catch {
                    throw Failure("receipt_mismatch", "transport", seq: t.seq, "the AS4 receipt is not an acceptable envelope: \(error.detail)")
                }
                guard e.signals.count == 1, let signal = e.signals.first, signal.messageId == t.payload["signal_message_id"]?.stringValue,
                      signal.refToMessageId == id, case .receipt(let nri) = signal.content else {
                    throw Failure("receipt_mismatch", "transport", seq: t.seq, "the AS4 receipt is not one SignalMessage with a Receipt for \(id ?? "?")")
                }
                guard SignedReference.sameSigned(nri, signed) else {
                    throw Failure("nri_mismatch", "transport", seq: t.seq, "the receipt's non-repudiation information differs from what the node recorded as signed")
                }
                if let der = data(state, dispatch?["recipient_certificate"]) {
                    guard let expected = try? Certificate(derEncoded: der), e.signer == expected else {
                        throw Failure("signer_mismatch", "transport", seq: t.seq, "the receipt's signing token is not the certificate the node sent to")
                    }
                } else {
                    tally.missing.append("transport: the recipient certificate of event \(d.seq) is not included")
                }
            } else {
                tally.missing.append("transport: the AS4 receipt of event \(t.seq) is not included")
            }
            if let soap = data(state, dispatch?["soap"]) {
                let e: AS4Evidence
                do { e = try AS4Evidence(soap) } catch {
                    throw Failure("as4_message_mismatch", "transport", seq: d.seq, "the kept AS4 message is not an acceptable envelope: \(error.detail)")
                }
                guard e.signedReferences == signed, e.userMessageID == id else {
                    throw Failure("as4_message_mismatch", "transport", seq: d.seq, "the kept AS4 message's signed references or MessageId differ from the event")
                }
            } else {
                tally.missing.append("transport: the AS4 message of event \(d.seq) is not included")
            }
        }
        for s in all where s.full && s.type == "transport.receipt.sent" {
            let id = s.payload["as4_message_id"]?.stringValue
            guard let m = all.first(where: { ["message.received", "message.receipt.received"].contains($0.type) && $0.payload["as4_message_id"]?.stringValue == id }) else {
                throw Failure("receipt_unmatched", "transport", seq: s.seq, "no received message in the bundle has AS4 MessageId \(id ?? "?")")
            }
            if !m.full { tally.stated = true }
            guard let receipt = data(state, s.payload["receipt"]) else {
                tally.missing.append("transport: the AS4 receipt of event \(s.seq) is not included")
                continue
            }
            let e: AS4Evidence
            do { e = try AS4Evidence(receipt) } catch {
                throw Failure("receipt_mismatch", "transport", seq: s.seq, "the AS4 receipt is not an acceptable envelope: \(error.detail)")
            }
            guard e.signals.count == 1, let signal = e.signals.first, signal.refToMessageId == id, case .receipt(let nri) = signal.content else {
                throw Failure("receipt_mismatch", "transport", seq: s.seq, "the AS4 receipt is not one SignalMessage with a Receipt for \(id ?? "?")")
            }
            guard let soap = data(state, m.payload["soap"]) else {
                tally.missing.append("transport: the received AS4 message of event \(m.seq) is not included")
                continue
            }
            guard let received = try? AS4Evidence(soap), SignedReference.sameSigned(nri, received.signedReferences) else {
                throw Failure("nri_mismatch", "transport", seq: s.seq, "the receipt's non-repudiation information differs from what the sender signed")
            }
        }
        for x in all where x.full && x.type == "transport.error.received" {
            guard let response = data(state, x.payload["response"]) else {
                tally.missing.append("transport: the AS4 error of event \(x.seq) is not included")
                continue
            }
            guard let e = try? AS4Evidence(response), e.signals.count == 1, let signal = e.signals.first,
                  signal.refToMessageId == x.payload["as4_message_id"]?.stringValue, case .errors(let errors) = signal.content, !errors.isEmpty else {
                throw Failure("receipt_mismatch", "transport", seq: x.seq, "the AS4 error is not a SignalMessage with errors about this message")
            }
        }
        tally.result(&state, region: "transport")
    }

    // MARK: 10.8

    static let xheNamespace = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExchangeHeaderEnvelope"
    static let xha = "http://docs.oasis-open.org/bdxr/ns/XHE/1/AggregateComponents"
    static let xhb = "http://docs.oasis-open.org/bdxr/ns/XHE/1/BasicComponents"
    static let ar = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    static let cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    static let cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

    static func documents(_ state: inout State) throws(Failure) {
        var tally = Tally()
        tally.missing += absent(state, kinds: ["xhe", "meddelandekvittens"], region: "documents")
        // The XHE ID is the message id, except for the recipient's record of a message delivered
        // inside the node: its `message.received` names the XHE ID, and its id is that + ".in".
        var id = state.bundle.messageID
        if let received = entries(state).first(where: { $0.type == "message.received" }), let xheID = received.payload["xhe_id"]?.stringValue {
            guard NodeEventType.internalCopy(of: xheID) == id else {
                throw Failure("xhe_mismatch", "documents", seq: received.seq, "message \(id) is not the internal copy of XHE \(xheID)")
            }
            id = xheID
        }
        for e in entries(state) {
            if !e.full { if e.payload["xhe"] != nil || e.payload["receipt"] != nil { tally.stated = true } }
            if ["message.submitted", "message.received", "message.receipt.sent", "message.receipt.received"].contains(e.type),
               let xhe = data(state, e.payload["xhe"]) {
                let expected = e.type == "message.submitted" || e.type == "message.received" ? id : e.payload["receipt_id"]?.stringValue
                guard let doc = try? XMLDocument(bytes: xhe, limits: .sdk), doc.root.isNamed(xheNamespace, "XHE"),
                      doc.root.element(xha, "Header")?.element(xhb, "ID")?.normalizedValue == expected else {
                    throw Failure("xhe_mismatch", "documents", seq: e.seq, "the XHE of event \(e.seq) is not an XHE with ID \(expected ?? "?")")
                }
                if let dispatch = e.payload["dispatch"] { digest(&state, xhe: xhe, dispatch: dispatch, seq: e.seq) }
            }
            if ["message.receipt.sent", "message.receipt.received"].contains(e.type), let receipt = data(state, e.payload["receipt"]) {
                guard let doc = try? XMLDocument(bytes: receipt, limits: .sdk), doc.root.isNamed(ar, "ApplicationResponse"),
                      doc.root.element(cbc, "ID")?.normalizedValue == e.payload["receipt_id"]?.stringValue,
                      let response = doc.root.element(cac, "DocumentResponse"),
                      response.element(cac, "Response")?.element(cbc, "ResponseCode")?.normalizedValue == e.payload["status"]?.stringValue,
                      response.element(cac, "DocumentReference")?.element(cbc, "ID")?.normalizedValue == id else {
                    throw Failure("meddelandekvittens_mismatch", "documents", seq: e.seq, "the Meddelandekvittens of event \(e.seq) does not match its event")
                }
            }
        }
        tally.result(&state, region: "documents")
    }

    /// The payload digest: the gzip of the XHE (zlib level 6, as the sealer makes it) against
    /// the dispatch's `cid:` reference. Only a match is conclusive (deflate output is not
    /// canonical), so a difference is a note, not a failure.
    private static func digest(_ state: inout State, xhe: [UInt8], dispatch: JSONValue, seq: UInt64) {
        let cids = recorded(dispatch).filter { $0.uri.hasPrefix("cid:") }
        guard !cids.isEmpty else { return }
        var compressed: [UInt8] = []
        do {
            let z = try Gzip(.compress)
            try xhe.withUnsafeBytes { buffer in try z.update(buffer) { compressed += $0 } }
            try z.finish { compressed += $0 }
        } catch {
            state.report.notes.append("documents: the XHE of event \(seq) could not be compressed (\(error))")
            return
        }
        let sha = Array(SHA256.hash(data: compressed))
        if cids.contains(where: { $0.digest == sha }) {
            state.report.notes.append("documents: the AS4 payload of event \(seq) is proven to be this XHE (digest reproduced)")
        } else {
            state.report.notes.append("documents: the AS4 payload digest of event \(seq) was not reproduced from the XHE (not a failure)")
        }
    }

    // MARK: 10.9

    /// Evidence of `kinds` that a full entry references but the bundle does not include: the
    /// checks that need it are "not checked", never "proven".
    private static func absent(_ state: State, kinds: Set<String>, region: String) -> [String] {
        let full = Set(state.payloads.filter { $0.value.full }.keys)
        return state.bundle.blobs.filter { kinds.contains($0.kind) && $0.state != "included" && $0.references.contains { full.contains($0.seq) } }
            .map { "\(region): \($0.kind) \($0.sha256) is \($0.state)" }
    }

    static func signatures(_ state: inout State, enabled: Bool) throws(Failure) {
        guard enabled else {
            state.report.checks["signatures"] = .notChecked
            state.report.notChecked.append("signatures: XML signature checks were turned off")
            return
        }
        var tally = Tally()
        tally.missing += absent(state, kinds: ["xhe", "as4_receipt", "as4_message"], region: "signatures")
        for blob in state.bundle.blobs where blob.state == "included" {
            guard let bytes = blob.data else { continue }
            // The time of the event that first records the document: its certificate is judged then.
            let time = blob.references.first.flatMap { state.times[$0.seq] }
            switch blob.kind {
            case "xhe":
                do {
                    let doc = try XMLDocument(bytes: bytes, limits: .sdk)
                    let (signer, extra) = try XMLSignatureVerifier.verifySignature(doc)
                    state.signers.append(.init(sha256: blob.sha256, what: "XHE", signer: signer, extra: extra, role: .o2o, time: time))
                } catch {
                    throw Failure("signature_invalid", "signatures", sha256: blob.sha256, "the XHE's signature does not verify: \(error)")
                }
            case "as4_receipt", "as4_message":
                do {
                    let signer = try AS4Evidence(bytes).verifySignature()
                    state.signers.append(.init(sha256: blob.sha256, what: blob.kind, signer: signer, extra: [], role: .as4, time: time))
                } catch {
                    throw Failure("signature_invalid", "signatures", sha256: blob.sha256, "the \(blob.kind)'s WS-Security signature does not verify: \(error.detail)")
                }
            default:
                break
            }
        }
        tally.result(&state, region: "signatures")
    }

    /// With CA certificates (`--ca`): each signer's chain to them at the time of the event that
    /// recorded the document (O2O for XHEs, AS4 for envelopes); without, each signer is listed
    /// as stated, for a person to judge. Revocation is not checked offline.
    static func chains(_ state: inout State, cas: [Certificate]) async throws(Failure) {
        guard !cas.isEmpty else {
            for s in state.signers { state.report.stated.append("signatures: \(s.what) \(s.sha256) signed by \(s.signer.subject) (no --ca: certificate not checked)") }
            if !state.signers.isEmpty, state.report.checks["signatures"] == .proven { state.report.checks["signatures"] = .stated }
            return
        }
        let anchors = cas.filter { $0.subject == $0.issuer }, intermediates = cas.filter { $0.subject != $0.issuer }
        for s in state.signers {
            let trust = CertificateTrust(role: s.role, anchors: anchors, intermediates: intermediates)
            do { try await trust.evaluate(s.signer, extra: s.extra, at: s.time.map { Date(timeIntervalSince1970: Double($0.nanoseconds) / 1e9) } ?? Date()) } catch {
                throw Failure("signature_invalid", "signatures", sha256: s.sha256, "the \(s.what)'s signer \(s.signer.subject) does not chain to the given CAs: \(error)")
            }
        }
        state.report.notes.append("signatures: certificate chains checked against the given CAs at each document's time; revocation is not checked offline")
    }
}
