import Foundation
package import Ledger
import Transport
package import X509

/// Checks an evidence bundle offline, without the node (Schemas/evidence-bundle.md §10): the
/// form, the checkpoint, the key chain from genesis, every full event (canonical bytes, hash,
/// signature by the key then active, inclusion proof to the checkpoint, membership in the
/// message), the blobs against their references, recorded content, the AS4 and SDK evidence,
/// and the witnesses. The report names the first failure in that order.
package struct EvidenceVerifier {
    /// The genesis key the bundle's key chain must start from (`--trust-key`).
    package var trustedKey: LedgerPublicKey?
    /// Checkpoints kept outside the node (`--witness`), as the event envelopes
    /// `kvitto ledger checkpoint` printed.
    package var witnesses: [JSONValue] = []
    /// Whether to check the XML signatures (XHE, AS4 receipt) cryptographically.
    package var xmlSignatures = true
    /// CA certificates the XML signatures' certificates must chain to (`--ca`): O2O for XHEs,
    /// AS4 for receipts. The bundle carries no trust anchors: the node's own copy proves nothing.
    package var cas: [Certificate] = []

    package init(trustedKey: LedgerPublicKey? = nil, witnesses: [JSONValue] = []) {
        self.trustedKey = trustedKey
        self.witnesses = witnesses
    }

    package typealias Failure = EvidenceReport.Failure

    /// One decoded full event.
    struct Decoded {
        let entry: EvidenceBundle.Full
        let type: String
        let subject: String
        let actor: String
        let time: Timestamp
        let payload: JSONValue
    }

    /// What the checks share as they go.
    struct State {
        var report = EvidenceReport()
        var bundle: EvidenceBundle!
        var root = Digest32.zero
        var keys: [(activeFrom: UInt64, key: LedgerPublicKey, id: String)] = []
        /// Full events by seq (keys, events, checkpoint).
        var decoded: [UInt64: Decoded] = [:]
        /// The payload of every events entry by seq (shown payload for redacted ones).
        var payloads: [UInt64: (type: String, payload: JSONValue, full: Bool)] = [:]
        /// The time of every events entry by seq (shown time for redacted ones).
        var times: [UInt64: Timestamp] = [:]
        /// The signers of the XML signatures that verified, for the chain check.
        var signers: [Signer] = []
    }

    struct Signer {
        let sha256: String
        let what: String
        let signer: Certificate
        let extra: [Certificate]
        let role: CertificateTrust.Role
        let time: Timestamp?
    }

    /// Verifies `bytes`.
    package func verify(_ bytes: [UInt8]) async -> EvidenceReport {
        var state = State()
        var region = "bundle"
        do {
            state.bundle = try EvidenceBundle(bytes)
            state.report.message = state.bundle.messageID
            state.report.position = state.bundle.position
            state.report.stated = ["generated_at", "node", "requester"]
            if state.bundle.purpose != nil { state.report.stated.append("requester.purpose") }
            state.report.checks["bundle"] = .proven
            region = "checkpoint"; try checkCheckpoint(&state)
            region = "keys"; try checkKeys(&state)
            region = "events"; try checkEvents(&state)
            region = "blobs"; try checkBlobs(&state)
            region = "content"; try checkContent(&state)
            region = "transport"; try EvidenceTransportChecks.transport(&state)
            region = "documents"; try EvidenceTransportChecks.documents(&state)
            region = "signatures"; try EvidenceTransportChecks.signatures(&state, enabled: xmlSignatures)
            try await EvidenceTransportChecks.chains(&state, cas: cas)
            region = "witness"; try checkWitnesses(&state)
        } catch {
            state.report.failure = error
            state.report.checks[error.region] = .failed
            if error.region != region { state.report.checks[region] = .failed }
        }
        return state.report
    }

    // MARK: helpers (§10)

    /// `decode(entry)`: the canonical bytes parse as an event envelope, hash to `hash`, and
    /// repeat the entry's seq, prev and key.
    static func decode(_ f: EvidenceBundle.Full, region: String, code malformedCode: String = "malformed_event",
                       hashCode: String = "hash_mismatch") throws(Failure) -> Decoded {
        let value: JSONValue
        do { value = try JSONParser.parseCanonical(f.canonical) } catch {
            throw Failure(malformedCode, region, seq: f.seq, pointer: f.pointer + "/canonical", "the canonical bytes are not canonical JSON: \(error)")
        }
        guard case .object(let o) = value, Set(o.keys) == ["actor", "key", "payload", "prev", "seq", "subject", "time", "type", "type_version"],
              let seq = o["seq"]?.intValue, let prev = o["prev"]?.stringValue, let key = o["key"]?.stringValue,
              let type = o["type"]?.stringValue, let subject = o["subject"]?.stringValue, let actor = o["actor"]?.stringValue,
              let timeText = o["time"]?.stringValue, let time = Timestamp(rfc3339: timeText), o["type_version"]?.intValue != nil,
              case .object = o["payload"]
        else {
            throw Failure(malformedCode, region, seq: f.seq, pointer: f.pointer + "/canonical", "the canonical bytes are not an event envelope")
        }
        guard Digest32.sha256(f.canonical) == f.hash else {
            throw Failure(hashCode, region, seq: f.seq, pointer: f.pointer + "/hash", "SHA-256 of the canonical bytes is not the entry's hash")
        }
        guard seq >= 0, UInt64(seq) == f.seq, prev == f.prev.hex, key == f.key else {
            throw Failure(malformedCode, region, seq: f.seq, pointer: f.pointer, "the entry's seq, prev or key differs from its canonical bytes")
        }
        return Decoded(entry: f, type: type, subject: subject, actor: actor, time: time, payload: o["payload"]!)
    }

    /// The key active at `seq`: the last with `activeFrom` ≤ seq.
    static func active(_ state: State, _ seq: UInt64) -> (activeFrom: UInt64, key: LedgerPublicKey, id: String)? {
        state.keys.last { $0.activeFrom <= seq }
    }

    /// `signed(entry, k)`.
    static func signed(_ f: EvidenceBundle.Full, _ k: (activeFrom: UInt64, key: LedgerPublicKey, id: String)?, region: String) throws(Failure) {
        guard let k, f.key == k.id else {
            throw Failure("wrong_key", region, seq: f.seq, pointer: f.pointer + "/key", "event \(f.seq) names key \(f.key), not the key active at its seq")
        }
        guard k.key.isValidSignature(f.sig, for: f.hash) else {
            throw Failure("bad_signature", region, seq: f.seq, pointer: f.pointer + "/sig", "the signature of event \(f.seq) does not verify")
        }
    }

    static func included(_ state: State, _ f: EvidenceBundle.Full, region: String = "proofs") throws(Failure) {
        let n = state.bundle.position
        guard let proof = f.proof, proof.leafIndex == f.seq - 1,
              MerkleProofs.verifyInclusion(leafHash: MerkleHash.leaf(f.hash), index: proof.leafIndex, size: n, proof: proof.path, root: state.root)
        else {
            throw Failure("inclusion_failed", region, seq: f.seq, pointer: f.pointer + "/proof", "event \(f.seq) is not proven to be in the tree the checkpoint signs")
        }
    }

    // MARK: 10.2 checkpoint

    private func checkCheckpoint(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        let d = try Self.decode(b.checkpoint, region: "checkpoint", code: "checkpoint_mismatch", hashCode: "checkpoint_mismatch")
        guard d.type == EventType.checkpoint, d.subject == "ledger", d.actor == "node", let p = d.payload.objectValue, Set(p.keys) == ["root", "tree_size"],
              let size = p["tree_size"]?.intValue, let rootText = p["root"]?.stringValue, let root = Digest32(hex: rootText), rootText == root.hex
        else {
            throw Failure("checkpoint_mismatch", "checkpoint", seq: b.checkpoint.seq, pointer: "/checkpoint", "not a ledger.checkpoint event")
        }
        guard size >= 0, b.checkpoint.seq >= 2, UInt64(size) == b.checkpoint.seq - 1, UInt64(size) == b.position else {
            throw Failure("checkpoint_mismatch", "checkpoint", seq: b.checkpoint.seq, pointer: "/position", "tree_size, the checkpoint's seq − 1 and position differ")
        }
        state.root = root
        state.decoded[b.checkpoint.seq] = d
        state.report.checks["checkpoint"] = .proven
    }

    // MARK: 10.3 keys

    private func checkKeys(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        for (i, k) in b.keys.enumerated() {
            let code = i == 0 ? "bad_genesis" : "bad_key_rotation"
            let fail = { (detail: String) in Failure(code, "keys", seq: k.event.seq, index: i, pointer: k.pointer, detail) }
            let d = try Self.decode(k.event, region: "keys", code: code, hashCode: code)
            guard let publicKeyText = d.payload["public_key"]?.stringValue, let raw = Data(base64Encoded: publicKeyText),
                  let publicKey = try? LedgerPublicKey(raw: [UInt8](raw)), d.payload["key"]?.stringValue == publicKey.keyID,
                  k.key == publicKey.keyID, k.publicKey == publicKeyText
            else { throw fail("the key entry does not match its event's public key and key id") }
            if i == 0 {
                guard k.event.seq == 1, d.type == EventType.ledgerCreated, d.subject == "ledger", k.event.prev == .zero,
                      d.payload["format"]?.stringValue == b.ledgerFormat, b.ledgerFormat == "kvitto-ledger/1",
                      d.payload["ledger_id"]?.stringValue == b.ledgerID, k.event.key == publicKey.keyID, k.activeFrom == 1
                else { throw fail("the first key's event is not this ledger's genesis event") }
                state.keys.append((1, publicKey, publicKey.keyID))
                try Self.signed(k.event, state.keys[0], region: "keys")
                if let trustedKey {
                    guard trustedKey == publicKey else {
                        throw Failure("untrusted_key", "keys", seq: 1, index: 0, pointer: "/keys/0/public_key", "the genesis key is not the trusted key")
                    }
                    state.report.genesisKeyPinned = true
                }
            } else {
                let previous = state.keys[i - 1]
                guard d.type == EventType.keyRotated, d.subject == "node", k.event.seq > b.keys[i - 1].event.seq,
                      k.event.seq < b.checkpoint.seq, k.activeFrom == k.event.seq + 1,
                      d.payload["previous_key"]?.stringValue == previous.id
                else { throw fail("not a rotation from the previous key, below the checkpoint") }
                do throws(Failure) { try Self.signed(k.event, previous, region: "keys") } catch {
                    throw Failure("bad_key_rotation", "keys", seq: k.event.seq, index: i, pointer: k.pointer + "/event/sig", "the rotation is not signed by the previous key")
                }
                state.keys.append((k.activeFrom, publicKey, publicKey.keyID))
            }
            state.decoded[k.event.seq] = d
        }
        for k in b.keys { try Self.included(state, k.event) }
        try Self.signed(b.checkpoint, Self.active(state, b.checkpoint.seq), region: "keys")
        state.report.checks["keys"] = .proven
        state.report.checks["proofs"] = .proven
    }

    // MARK: 10.4 events

    private func checkEvents(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        let n = b.position
        var anyRedacted = false
        for e in b.events {
            switch e {
            case .full(let f):
                let d = try Self.decode(f, region: "events")
                try Self.signed(f, Self.active(state, f.seq), region: "events")
                guard f.seq >= 2, f.seq <= n else {
                    throw Failure("inclusion_failed", "proofs", seq: f.seq, pointer: f.pointer + "/seq", "event \(f.seq) is outside the checkpoint's tree of \(n)")
                }
                try Self.included(state, f)
                state.decoded[f.seq] = d
                state.payloads[f.seq] = (d.type, d.payload, true)
                state.times[f.seq] = d.time
            case .redacted(let r):
                anyRedacted = true
                guard r.seq >= 2, r.seq <= n else {
                    throw Failure("malformed_bundle", "bundle", seq: r.seq, pointer: r.pointer + "/seq", "a redacted entry outside the checkpoint's tree")
                }
                state.payloads[r.seq] = (r.type, r.payload, false)
                state.times[r.seq] = r.time
                state.report.stated.append("event \(r.seq) (redacted: \(r.removed.joined(separator: ", ")))")
            }
        }
        // Membership, with erasures bound to earlier references.
        for e in b.events {
            guard case .full(let f) = e, let d = state.decoded[f.seq] else { continue }
            if d.type == "blob.erased" {
                guard let blob = d.payload["blob"]?.stringValue?.lowercased(), d.subject.lowercased() == "blob:" + blob else {
                    throw Failure("not_in_message", "events", seq: f.seq, pointer: f.pointer, "an erasure whose subject is not its blob")
                }
                let earlier = b.events.filter { $0.seq < f.seq }.flatMap { entry in
                    state.payloads[entry.seq].map { EvidenceBlobCatalog.references(seq: entry.seq, type: $0.type, payload: $0.payload) } ?? []
                }
                guard let ref = earlier.first(where: { $0.sha256.hex == blob }) else {
                    // The reference may be in a member redaction removed (an operator does not see
                    // a submission's attachments): then the binding is only stated.
                    if b.events.contains(where: { if case .redacted(let r) = $0 { r.seq < f.seq } else { false } }) {
                        state.report.stated.append("erasure \(f.seq) (the reference it erases is in a redacted entry)")
                        continue
                    }
                    throw Failure("erasure_mismatch", "events", seq: f.seq, pointer: f.pointer, "the erased blob is referenced by no earlier event in the bundle")
                }
                guard d.payload["size"]?.intValue == ref.size else {
                    throw Failure("erasure_mismatch", "events", seq: f.seq, pointer: f.pointer, "the erasure's size differs from the reference's")
                }
            } else if d.subject != "message:" + b.messageID {
                throw Failure("not_in_message", "events", seq: f.seq, pointer: f.pointer, "event \(f.seq) is about \(d.subject), not message \(b.messageID)")
            }
        }
        // The chain and time order across every full event.
        let seqs = state.decoded.keys.sorted()
        for (a, c) in zip(seqs, seqs.dropFirst()) {
            let (x, y) = (state.decoded[a]!, state.decoded[c]!)
            if c == a + 1, y.entry.prev != x.entry.hash {
                throw Failure("chain_broken", "events", seq: c, pointer: y.entry.pointer + "/prev", "event \(c) does not link to event \(a)")
            }
            guard y.time >= x.time else {
                throw Failure("time_reversed", "events", seq: c, pointer: y.entry.pointer, "event \(c) is older than event \(a)")
            }
        }
        // The trace starts with the message's creation.
        let first = b.events[0]
        let (type, payload) = state.payloads[first.seq].map { ($0.type, $0.payload) }!
        let expected = b.direction == "outbound" ? "message.submitted" : "message.received"
        guard type == expected, payload["participant"]?.stringValue == b.participant else {
            throw Failure("bad_trace_start", "events", seq: first.seq, pointer: "/events/0",
                          "the first event is \(type) for \(payload["participant"]?.stringValue ?? "?"), not \(expected) for \(b.participant)")
        }
        if case .redacted = first { state.report.stated.append("message (its first event is redacted)") }
        state.report.checks["events"] = anyRedacted ? .stated : .proven
    }

    // MARK: 10.5 blobs

    private func checkBlobs(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        var references: [EvidenceBlobCatalog.Reference] = []
        var erasures: [String: UInt64] = [:]
        for e in b.events {
            let (type, payload, _) = state.payloads[e.seq]!
            references += EvidenceBlobCatalog.references(seq: e.seq, type: type, payload: payload)
            if type == "blob.erased", let blob = payload["blob"]?.stringValue?.lowercased(), erasures[blob] == nil { erasures[blob] = e.seq }
        }
        let redactedSeqs = Set(b.events.compactMap { if case .redacted(let r) = $0 { r.seq } else { nil } })
        let derived = EvidenceBlobCatalog.entries(references)
        let fullSeqs = Set(b.events.compactMap { if case .full(let f) = $0 { f.seq } else { nil } })
        let parts = Set((b.parts ?? []).map(\.sha256))
        guard derived.count == b.blobs.count else {
            throw Failure("blob_entry_mismatch", "blobs", pointer: "/blobs", "the events reference \(derived.count) blobs; the bundle lists \(b.blobs.count)")
        }
        var anyStated = false
        for (i, (d, e)) in zip(derived, b.blobs).enumerated() {
            let fail = { (detail: String) in Failure("blob_entry_mismatch", "blobs", sha256: e.sha256, index: i, pointer: e.pointer, detail) }
            guard d.sha256.hex == e.sha256 else { throw fail("entry \(i) should be blob \(d.sha256.hex) (order of first reference)") }
            guard d.consistentSize, d.size == e.size, d.kind == e.kind, d.role.rawValue == e.role else {
                throw fail("size, kind or role differ from what the references say (\(d.size), \(d.kind), \(d.role.rawValue))")
            }
            guard d.references.count == e.references.count,
                  zip(d.references, e.references).allSatisfy({ $0.seq == $1.seq && $0.pointer == $1.pointer }) else {
                throw fail("the references differ from those found in the events")
            }
            let expected: String
            if erasures[e.sha256] != nil { expected = "erased" }
            else if d.role == .ciphertext { expected = "omitted" }
            else if d.role == .content && !parts.contains(e.sha256) { expected = "withheld" }
            else { expected = e.state == "missing" ? "missing" : "included" }
            guard e.state == expected else { throw fail("state \(e.state), but the rules give \(expected)") }
            let members = (e.data != nil, e.erasedBy != nil, e.reason != nil)
            switch expected {
            case "included": guard members == (true, false, false) else { throw fail("an included blob has data and nothing else") }
            case "erased": guard members == (false, true, false) else { throw fail("an erased blob has erased_by and nothing else") }
            case "withheld":
                guard members == (false, false, true), ["not_requested", "no_read_grant", "weak_authentication"].contains(e.reason!) else {
                    throw fail("a withheld blob has a reason and nothing else")
                }
                state.report.stated.append("blob \(e.sha256) withheld: \(e.reason!)")
            default: guard members == (false, false, false) else { throw fail("an \(expected) blob has no data, erased_by or reason") }
            }
            // Proven only when nothing unproven decided it: a reference or an erasure from a
            // redacted entry (which could have been added or changed) makes the entry stated.
            let proven = d.references.contains { fullSeqs.contains($0.seq) } && !d.references.contains { redactedSeqs.contains($0.seq) }
                && erasures[e.sha256].map { !redactedSeqs.contains($0) } ?? true
            if !proven { anyStated = true; state.report.stated.append("blob \(e.sha256) (its references or erasure are in redacted entries)") }
            switch expected {
            case "included":
                guard e.data!.count == Int(e.size), Digest32.sha256(e.data!).hex == e.sha256 else {
                    throw Failure("blob_altered", "blobs", sha256: e.sha256, index: i, pointer: e.pointer + "/data",
                                  "the included bytes do not have the referenced size and SHA-256")
                }
            case "missing":
                throw Failure("blob_missing", "blobs", sha256: e.sha256, index: i, pointer: e.pointer,
                              "the node held neither this blob nor an erasure event for it")
            case "erased":
                guard e.erasedBy == erasures[e.sha256] else {
                    throw Failure("blob_erased_without_event", "blobs", sha256: e.sha256, index: i, pointer: e.pointer + "/erased_by",
                                  "erased_by is not the first blob.erased event naming this blob")
                }
            default: break
            }
        }
        state.report.checks["blobs"] = anyStated ? .stated : .proven
    }

    // MARK: 10.6 content

    private func checkContent(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        guard let parts = b.parts, let accessEvents = b.accessEvents else {
            state.report.checks["content"] = .proven
            return
        }
        let fail = { (detail: String) in Failure("content_not_audited", "content", pointer: "/content", detail) }
        guard accessEvents.count == parts.count else { throw fail("\(parts.count) parts but \(accessEvents.count) access events") }
        let blobs = Dictionary(b.blobs.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, (part, seq)) in zip(parts, accessEvents).enumerated() {
            guard let blob = blobs[part.sha256], blob.state == "included", blob.role == "content" else {
                throw fail("part \(i)'s blob is not included as content")
            }
            guard let d = state.decoded[seq], d.type == "message.accessed", b.events.contains(where: { $0.seq == seq }) else {
                throw fail("access event \(seq) is not a full message.accessed entry of the bundle")
            }
            let p = d.payload
            let purpose = EvidenceFormat.cut(b.purpose.map { "evidence bundle: " + $0 } ?? "evidence bundle")
            guard d.actor == b.actor, p["interface"]?.stringValue == b.interface, p["message"]?.stringValue == b.messageID,
                  p["purpose"]?.stringValue == purpose,
                  p["part"]?.stringValue == part.part, p["attachment"]?.intValue == part.attachment,
                  p["blob"]?["sha256"]?.stringValue?.lowercased() == part.sha256
            else { throw fail("access event \(seq) does not record this requester receiving part \(i)") }
        }
        for blob in b.blobs where blob.state == "included" && blob.role == "content" && !parts.contains(where: { $0.sha256 == blob.sha256 }) {
            throw fail("content blob \(blob.sha256) is included but not listed in parts")
        }
        // The parts are the creation event's content, minus what was erased.
        // Outbound: the submission lists the content; inbound: the Meddelandekvittens we issued.
        let creation = b.direction == "outbound"
            ? state.decoded[b.events[0].seq]
            : b.events.compactMap { [decoded = state.decoded] in decoded[$0.seq] }.first { $0.type == "message.receipt.sent" && $0.payload["content"] != nil }
        let source: JSONValue? = creation.flatMap { $0.type == "message.submitted" ? $0.payload : $0.payload["content"] }
        var expected: [EvidenceBundle.Part] = []
        let erased = Set(b.blobs.filter { $0.state == "erased" }.map(\.sha256))
        if let source {
            if let m = source["sdk_message"]?["sha256"]?.stringValue?.lowercased(), !erased.contains(m) {
                expected.append(.init(part: "message", attachment: nil, fileName: nil, contentType: "application/xml", sha256: m))
            }
            for (n, a) in (source["attachments"]?.arrayElements ?? []).enumerated() {
                guard let sha = a["blob"]?["sha256"]?.stringValue?.lowercased(), !erased.contains(sha) else { continue }
                expected.append(.init(part: "attachment", attachment: Int64(n), fileName: a["file_name"]?.stringValue,
                                      contentType: a["content_type"]?.stringValue ?? "", sha256: sha))
            }
        }
        guard expected == parts else { throw fail("the parts are not the message's content as its creation event lists it") }
        // Content encrypted at rest: the parts are ciphertexts (their hashes are the events');
        // the data key must be the one the creation event commits to, and open every part.
        if let encryption = source?["content_encryption"] {
            guard let bytes = b.dataKey, let key = DataKey(bytes: bytes) else {
                throw fail("the content is encrypted at rest and the bundle carries no data key")
            }
            guard encryption["key_check"]?.stringValue == key.check else {
                throw fail("the data key is not the one the content was sealed under (its key_check differs)")
            }
            for (i, part) in parts.enumerated() {
                do { _ = try SealedBlobFormat.open(blobs[part.sha256]?.data ?? [], dataKey: key) } catch {
                    throw fail("part \(i) does not decrypt under the data key: \(error.message)")
                }
            }
        } else if b.dataKey != nil {
            throw fail("a data key for content that is not encrypted at rest")
        }
        state.report.checks["content"] = .proven
        // The reads recorded who received the content, through which interface and why.
        state.report.stated.removeAll { $0 == "requester" || $0 == "requester.purpose" }
        state.report.stated.append("requester.visibility")
    }

    // MARK: 10.10 witnesses

    private func checkWitnesses(_ state: inout State) throws(Failure) {
        let b = state.bundle!
        let (n, r) = (b.position, state.root)
        func fail(_ code: String, _ w: EvidenceBundle.Witness?, seq: UInt64? = nil, _ detail: String) -> Failure {
            Failure(code, "witness", seq: seq ?? w?.seq, pointer: w?.pointer, detail)
        }
        for w in b.witnesses {
            if w.seq == b.checkpoint.seq {
                guard w.hash == b.checkpoint.hash, w.proof == nil, w.oldSize == n, w.oldRoot == r, w.consistency.isEmpty else {
                    throw fail("witness_invalid", w, "the entry at the checkpoint's seq does not repeat the checkpoint")
                }
                continue
            }
            guard w.seq < b.checkpoint.seq, w.seq >= 1, let proof = w.proof, proof.leafIndex == w.seq - 1,
                  MerkleProofs.verifyInclusion(leafHash: MerkleHash.leaf(w.hash), index: w.seq - 1, size: n, proof: proof.path, root: r),
                  w.oldSize == w.seq - 1,
                  MerkleProofs.verifyConsistency(oldSize: w.oldSize, newSize: n, oldRoot: w.oldRoot, newRoot: r, proof: w.consistency)
            else { throw fail("witness_invalid", w, "the witness entry's proofs do not hold") }
        }
        for witness in witnesses {
            guard case .object(var o) = witness, let hashText = o["hash"]?.stringValue, let hash = Digest32(hex: hashText),
                  let sigText = o["sig"]?.stringValue, let sig = Data(base64Encoded: sigText) else {
                throw fail("witness_invalid", nil, "a --witness is not a checkpoint event envelope with hash and sig")
            }
            o["hash"] = nil
            o["sig"] = nil
            let canonical = CanonicalJSON.encode(.object(o))
            guard Digest32.sha256(canonical) == hash, o["type"]?.stringValue == EventType.checkpoint,
                  let seq = o["seq"]?.intValue, seq >= 1, let size = o["payload"]?["tree_size"]?.intValue, size == seq - 1,
                  let rootText = o["payload"]?["root"]?.stringValue, let root = Digest32(hex: rootText),
                  let key = o["key"]?.stringValue else {
                throw fail("witness_invalid", nil, "a --witness is not a well-formed checkpoint (hash, type, tree_size)")
            }
            let wseq = UInt64(seq)
            guard wseq <= b.checkpoint.seq else {
                throw fail("witness_not_covered", nil, seq: wseq, "the witness (seq \(wseq)) is newer than the bundle's checkpoint: the bundle is older, or the ledger was rolled back")
            }
            guard let k = Self.active(state, wseq), k.id == key, k.key.isValidSignature([UInt8](sig), for: hash) else {
                throw fail("witness_invalid", nil, seq: wseq, "the witness is not signed by the key active at its seq in this key chain")
            }
            guard let entry = b.witnesses.first(where: { $0.seq == wseq }) else {
                throw fail("witness_not_covered", nil, seq: wseq, "the bundle carries no entry for this witness; ask for a bundle naming it")
            }
            guard entry.hash == hash, entry.oldRoot == root else {
                throw fail("witness_rewritten", entry, "the ledger no longer holds the witnessed checkpoint: history up to it was rewritten")
            }
            guard entry.oldSize == UInt64(size), wseq == b.checkpoint.seq || MerkleProofs.verifyConsistency(oldSize: UInt64(size), newSize: n, oldRoot: root, newRoot: r, proof: entry.consistency) else {
                throw fail("witness_inconsistent", entry, "the bundle's tree does not extend the witnessed tree")
            }
        }
        state.report.checks["witness"] = .proven
    }
}
