import Foundation
package import Ledger
package import Projections
import Transport

/// What a requester asks to have in an evidence bundle.
package struct EvidenceRequest: Sendable {
    /// Include the SDK message and the attachments (recorded as reads; needs a read grant and
    /// strong authentication, otherwise the whole request is refused and recorded).
    package var content = false
    /// Why (recorded with the reads of content), e.g. a case number.
    package var purpose: String?
    /// Seqs of checkpoints the requester keeps outside the node: the bundle carries the proofs a
    /// verifier needs to compare the ledger with each of them.
    package var witnesses: [UInt64] = []

    package init(content: Bool = false, purpose: String? = nil, witnesses: [UInt64] = []) {
        self.content = content
        self.purpose = purpose
        self.witnesses = witnesses
    }
}

/// Builds the evidence bundle of one message (Schemas/evidence-bundle.md §9): authorised as a
/// trace, content recorded before any byte leaves, every event proven to one signed checkpoint,
/// the key chain from genesis, the blobs the events reference. The result is an
/// ``EvidenceStream`` that writes the bundle's canonical JSON chunk by chunk.
package struct EvidenceProducer: Sendable {
    package let access: MessageAccess
    /// The node's name (`kvitto.json` `name`), stated in the bundle.
    package let node: String
    /// Whether this process holds the ledger for writing and may write a checkpoint; otherwise
    /// it waits (up to ``checkpointWait`` seconds) for the node's periodic one.
    package let writesCheckpoints: Bool
    package var checkpointWait: Double = 70

    package init(access: MessageAccess, node: String, writesCheckpoints: Bool) {
        self.access = access
        self.node = node
        self.writesCheckpoints = writesCheckpoints
    }

    private var ledger: Ledger { access.ledger }
    private var storage: any ProjectionStorage { access.projections.storage }

    /// The bundle of message `id` for `principal`. A message it may not see is "not found"
    /// (recorded, as for a trace).
    package func bundle(_ id: String, _ request: EvidenceRequest, as principal: Principal) async throws(NodeError) -> EvidenceStream {
        let (visible, policy) = try await access.visible(id, principal, action: "trace")
        var accessSeqs: [UInt64] = []
        var parts: [JSONValue] = []
        var dataKey: DataKey?
        if request.content {
            if let reason = policy.contentRefusal(visible.record) {
                await access.refuse(AccessDenial(reason: reason, resource: NodeEventType.subject(message: id), action: "read_content"), principal)
                throw NodeError(.forbidden, reason == .weakAuthentication
                    ? "content needs strong authentication (the configured acr/amr); ask for the bundle without content; the refusal was recorded"
                    : "you may see message \(id) but hold no read grant on its mailbox; ask for the bundle without content; the refusal was recorded")
            }
            // Content encrypted at rest ships as stored, with its data key: refused here, before
            // any read is recorded, when the key cannot be opened.
            let storage = storage
            dataKey = try access.vault.dataKey(of: visible.record) { try NodeStateProjection.erasure(of: $0, in: storage) }
            (accessSeqs, parts) = try await recordContent(visible.record, purpose: request.purpose, principal)
        }
        // Content ships only when its reading was recorded above: a part that appears later (an
        // inbound message's content stored meanwhile) or a reference no part names stays withheld.
        let recorded = Set(parts.compactMap { $0["sha256"]?.stringValue })
        let withheldReason = request.content ? nil : (policy.contentRefusal(visible.record)?.rawValue ?? "not_requested")
        let head = try run("reading the ledger head") { try ledger.durableHead() }
        // The message's last event, its erasures included.
        let last = try access.traceEvents(of: visible.record, upTo: head).last?.seq ?? 0
        var minimum = max(last, accessSeqs.max() ?? 0)
        for w in request.witnesses where w >= 1 && w <= head { minimum = max(minimum, w - 1) }
        // A blob erased after the chosen checkpoint sends us back for a newer one (bounded: each
        // round moves the minimum past an erasure that exists).
        for _ in 0..<8 {
            let checkpoint = try await checkpoint(covering: minimum)
            let position = checkpoint.treeSize
            let record: MessageRecord
            do {
                _ = try access.projections.catchUp()
                guard let r = try NodeStateProjection.message(id, in: storage) else { throw MessageAccess.notFound(id) }
                record = r
            } catch let e as NodeError { throw e } catch { throw NodeError(.storage, "reading message \(id): \(error)") }
            let events = try access.traceEvents(of: record, upTo: position)
            let shown = events.map { VisibleEvent($0, visibility: visible.visibility, confidential: record.confidential) }
            let blobs = try blobs(of: shown, recordedContent: recorded, withheldReason: withheldReason, position: position)
            guard case .ready(let blobEntries) = blobs else {
                if case .erasedAfter(let seq) = blobs { minimum = max(minimum, seq) }
                continue
            }
            // A key shredded while the bundle was made never leaves in it.
            if dataKey != nil, let key = record.contentKey {
                let erased = try run("reading erasures") { try NodeStateProjection.erasure(of: key.blob.sha256, in: storage) }
                if let erased {
                    throw NodeError(.erased, "the content's key was erased (event \(erased)) while the bundle was made; ask for the bundle without content")
                }
            }
            var top: [String: JSONValue] = [
                "format": .string(EvidenceFormat.version),
                "generated_at": .string(Timestamp.now().rfc3339),
                "node": .string(node),
                "message": ["id": .string(id), "participant": .string(record.participant),
                            "direction": .string(record.direction == .outbound ? "outbound" : "inbound")],
                "requester": requester(principal, visible.visibility, purpose: request.purpose),
                "position": .int(Int64(position)),
                "checkpoint": entry(checkpoint.event, proof: nil),
                "events": .array(try shown.map { v throws(NodeError) in
                    v.redacted.isEmpty ? entry(v.event, proof: try proof(v.event.seq, checkpoint)) : redacted(v)
                }),
                "witnesses": .array(try witnesses(request.witnesses, checkpoint)),
            ]
            let (ledgerMember, keys) = try keyChain(checkpoint)
            top["ledger"] = ledgerMember
            top["keys"] = .array(keys)
            if request.content {
                var content: [String: JSONValue] = ["access_events": .array(accessSeqs.map { .int(Int64($0)) }), "parts": .array(parts)]
                if let dataKey { content["data_key"] = .string(Base64.encode(dataKey.bytes)) }
                top["content"] = .object(content)
            }
            return EvidenceStream(top: top, blobs: blobEntries)
        }
        throw NodeError(.conflict, "the message's content is being erased while the bundle is made; ask again")
    }

    // MARK: content

    /// Appends one `message.accessed` per part not erased (one batch, durable before anything is
    /// written) and returns their seqs and the `parts` member.
    private func recordContent(_ record: MessageRecord, purpose: String?, _ principal: Principal) async throws(NodeError) -> ([UInt64], [JSONValue]) {
        var text = "evidence bundle"
        if let purpose, !purpose.isEmpty { text += ": " + purpose }
        text = EvidenceFormat.cut(text)
        var drafts: [EventDraft] = [], parts: [JSONValue] = []
        func erased(_ b: BlobRef) throws(NodeError) -> Bool {
            try run("reading erasures") { try NodeStateProjection.erasure(of: b.sha256, in: storage) != nil }
        }
        func add(_ part: String, _ n: Int?, _ blob: BlobRef, fileName: String?, contentType: String) {
            var payload: [String: JSONValue] = [
                "message": .string(record.id), "participant": .string(record.participant),
                "mailbox": record.mailbox.map { .string($0.description) } ?? .null, "part": .string(part),
                "blob": BlobField.json(blob), "interface": .string(principal.interface.rawValue), "purpose": .string(text),
            ]
            var p: [String: JSONValue] = ["part": .string(part), "content_type": .string(contentType), "sha256": .string(blob.sha256.hex)]
            if let n { payload["attachment"] = .int(Int64(n)); p["attachment"] = .int(Int64(n)) }
            if let fileName { payload["file_name"] = .string(fileName); p["file_name"] = .string(fileName) }
            drafts.append(EventDraft(type: AccessEventType.accessed, subject: NodeEventType.subject(message: record.id),
                                     actor: principal.actor, payload: .object(payload)))
            parts.append(.object(p))
        }
        if let m = record.sdkMessage, try !erased(m) { add("message", nil, m, fileName: nil, contentType: "application/xml") }
        for (n, a) in record.attachments.enumerated() where try !erased(a.blob) {
            add("attachment", n, a.blob, fileName: a.fileName, contentType: a.contentType)
        }
        guard !drafts.isEmpty else {
            throw record.sdkMessage == nil
                ? NodeError(.notFound, "message \(record.id) has no stored content (yet); ask for the bundle without content")
                : NodeError(.erased, "the message's content was erased; ask for the bundle without content")
        }
        do {
            return (try await ledger.append(drafts).map(\.seq), parts)
        } catch {
            throw NodeError(.auditUnavailable, "the reads could not be recorded in the ledger (\(error.code.rawValue)), so no bundle with content was made; if the node is running, ask through its API")
        }
    }

    // MARK: checkpoint, proofs, keys, witnesses

    /// The newest checkpoint, when it covers `size` events; otherwise one written now (or, when
    /// the node holds the ledger, its next periodic one).
    private func checkpoint(covering size: UInt64) async throws(NodeError) -> Checkpoint {
        let deadline = Date().addingTimeInterval(checkpointWait)
        while true {
            if let cp = try run("reading the ledger head", { try ledger.head().checkpoint }), cp.treeSize >= size { return cp }
            if writesCheckpoints {
                do { return try await ledger.checkpoint() } catch { throw NodeError(.storage, "writing a checkpoint: \(error)") }
            }
            guard Date() < deadline else {
                throw NodeError(.noCheckpoint, "no checkpoint covers the message's events yet; the running node writes one within its checkpoint interval — ask again then")
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func proof(_ seq: UInt64, _ checkpoint: Checkpoint) throws(NodeError) -> JSONValue {
        let p = try run("proving event \(seq)") { try ledger.inclusionProof(seq: seq, treeSize: checkpoint.treeSize) }
        guard p.checkpoint.event.seq == checkpoint.event.seq else {
            throw NodeError(.storage, "the inclusion proof of event \(seq) leads to checkpoint \(p.checkpoint.event.seq), not \(checkpoint.event.seq)")
        }
        return ["leaf_index": .int(Int64(seq - 1)), "path": .array(p.path.map { .string($0.hex) })]
    }

    /// `ledger` and `keys`: the genesis key and every rotation before the checkpoint.
    private func keyChain(_ checkpoint: Checkpoint) throws(NodeError) -> (JSONValue, [JSONValue]) {
        let rotations = try run("reading the key rotations") {
            try EventIndex.seqs(.type(EventType.keyRotated), upTo: checkpoint.event.seq - 1, limit: .max, in: storage)
        }
        var keys: [JSONValue] = []
        var ledgerMember: JSONValue = .null
        for seq in [1] + rotations {
            guard let e = try run("reading event \(seq)", { try ledger.event(seq) }) else {
                throw NodeError(.storage, "key event \(seq) is missing from the ledger; run `kvitto ledger verify`")
            }
            if seq == 1 { ledgerMember = ["format": e.payload["format"] ?? .null, "ledger_id": e.payload["ledger_id"] ?? .null] }
            keys.append(["key": e.payload["key"] ?? .null, "public_key": e.payload["public_key"] ?? .null,
                         "active_from": .int(Int64(seq == 1 ? 1 : seq + 1)), "event": entry(e, proof: try proof(seq, checkpoint))])
        }
        return (ledgerMember, keys)
    }

    /// The witness entries (§8) for the named seqs the checkpoint covers, computed from the ledger
    /// as it is (never judged here: a rewritten ledger yields entries that fail at the verifier).
    private func witnesses(_ seqs: [UInt64], _ checkpoint: Checkpoint) throws(NodeError) -> [JSONValue] {
        let n = checkpoint.treeSize
        // Only checkpoint events: the hash of any other event could confirm a guess of an event the
        // requester may not see. A named seq that holds no checkpoint gets no entry (the verifier
        // then reports the witness not covered).
        var checkpoints: [UInt64] = []
        for w in Set(seqs).sorted() where w >= 2 && w <= checkpoint.event.seq {
            if try run("reading event \(w)", { try ledger.event(w)?.type == EventType.checkpoint }) { checkpoints.append(w) }
        }
        return try checkpoints.map { w throws(NodeError) in
            if w == checkpoint.event.seq {
                return ["seq": .int(Int64(w)), "hash": .string(checkpoint.event.hash.hex), "old_size": .int(Int64(n)),
                        "old_root": .string(checkpoint.root.hex), "consistency": []]
            }
            guard let e = try run("reading event \(w)", { try ledger.event(w) }) else { throw NodeError(.storage, "event \(w) is missing") }
            let root = try run("computing a root") { try ledger.merkleRoot(size: w - 1) }
            let consistency = try run("proving consistency") { try ledger.consistencyProof(oldSize: w - 1, newSize: n) }
            return ["seq": .int(Int64(w)), "hash": .string(e.hash.hex), "proof": try proof(w, checkpoint),
                    "old_size": .int(Int64(w - 1)), "old_root": .string(root.hex), "consistency": .array(consistency.map { .string($0.hex) })]
        }
    }

    // MARK: entries and blobs

    private func entry(_ e: Event, proof: JSONValue?) -> JSONValue {
        var o: [String: JSONValue] = [
            "seq": .int(Int64(e.seq)), "form": "full", "canonical": .string(Data(e.body).base64EncodedString()),
            "hash": .string(e.hash.hex), "prev": .string(e.prev.hex), "key": .string(e.key),
            "sig": .string(Data(e.signature).base64EncodedString()),
        ]
        if let proof { o["proof"] = proof }
        return .object(o)
    }

    private func redacted(_ v: VisibleEvent) -> JSONValue {
        ["seq": .int(Int64(v.event.seq)), "form": "redacted",
         "shown": ["time": .string(v.event.time.rfc3339), "type": .string(v.event.type), "subject": .string(v.event.subject),
                   "actor": .string(v.event.actor), "payload": v.payload],
         "redacted": .array(v.redacted.map { .string($0) })]
    }

    private func requester(_ principal: Principal, _ visibility: AccessPolicy.Visibility, purpose: String?) -> JSONValue {
        var o: [String: JSONValue] = [
            "actor": .string(principal.actor), "interface": .string(principal.interface.rawValue),
            "visibility": .string(visibility == .full ? "full" : visibility == .audit ? "audit" : "transport"),
        ]
        if let purpose, !purpose.isEmpty { o["purpose"] = .string(EvidenceFormat.cut(purpose)) }
        return .object(o)
    }

    private enum BlobPlan {
        case ready([EvidenceStream.Blob])
        /// A blob to include was erased by the event with this seq, after the checkpoint.
        case erasedAfter(UInt64)
    }

    /// The `blobs` entries (§6), with the readers of the included ones opened now: an erasure
    /// after this point cannot take their bytes away mid-bundle.
    private func blobs(of shown: [VisibleEvent], recordedContent: Set<String>, withheldReason: String?, position: UInt64) throws(NodeError) -> BlobPlan {
        var references: [EvidenceBlobCatalog.Reference] = []
        var erasures: [String: UInt64] = [:]
        for v in shown {
            references += EvidenceBlobCatalog.references(seq: v.event.seq, type: v.event.type, payload: v.payload)
            if v.event.type == "blob.erased", let b = v.payload["blob"]?.stringValue?.lowercased(), erasures[b] == nil { erasures[b] = v.event.seq }
        }
        var out: [EvidenceStream.Blob] = []
        for e in EvidenceBlobCatalog.entries(references) {
            var o: [String: JSONValue] = [
                "sha256": .string(e.sha256.hex), "size": .int(e.size), "kind": .string(e.kind), "role": .string(e.role.rawValue),
                "references": .array(e.references.map { ["seq": .int(Int64($0.seq)), "pointer": .string($0.pointer)] }),
            ]
            var reader: BlobReader?
            if let seq = erasures[e.sha256.hex] {
                o["state"] = "erased"
                o["erased_by"] = .int(Int64(seq))
            } else if e.role == .ciphertext {
                o["state"] = "omitted"
            } else if e.role == .content && !recordedContent.contains(e.sha256.hex) {
                o["state"] = "withheld"
                o["reason"] = .string(withheldReason ?? "not_requested")
            } else {
                switch ledger.blobs.state(of: e.sha256) {
                case .present:
                    do { reader = try ledger.blobs.open(e.sha256) } catch {
                        if let after = try laterErasure(e.sha256, position) { return .erasedAfter(after) }
                        throw NodeError(.storage, "opening blob \(e.sha256): \(error)")
                    }
                    // Erased after the checkpoint but not yet removed: erased content never ships.
                    if let after = try laterErasure(e.sha256, position) { return .erasedAfter(after) }
                    o["state"] = "included"
                case .erased, .absent:
                    if let after = try laterErasure(e.sha256, position) { return .erasedAfter(after) }
                    o["state"] = "missing"
                }
            }
            out.append(EvidenceStream.Blob(entry: o, reader: reader))
        }
        return .ready(out)
    }

    private func laterErasure(_ blob: Digest32, _ position: UInt64) throws(NodeError) -> UInt64? {
        let seq = try run("reading erasures") { try NodeStateProjection.erasure(of: blob, in: storage) }
        guard let seq, seq > position else { return nil }
        return seq
    }

    private func run<T>(_ what: String, _ body: () throws -> T) throws(NodeError) -> T {
        do { return try body() } catch let e as NodeError { throw e } catch { throw NodeError(.storage, "\(what): \(error)") }
    }
}
