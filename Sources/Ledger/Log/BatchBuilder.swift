import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A draft with every canonical byte of its event that does not depend on where it lands in
/// the log, encoded by the appender (in parallel with other appenders).
///
/// A reference type: a draft travels from the appender through the batch builder into the event
/// it becomes, and each hand-over is one retain instead of one per string.
final class EncodedDraft: Sendable {
    let draft: EventDraft
    /// Four pieces of the canonical body, in member order, each starting with its separator:
    /// `{"actor":…` ‖ `,"payload":…` ‖ `,"subject":…` ‖ `,"type":…,"type_version":…}`. The body
    /// is these with `key`, `prev`, `seq` and `time` in between (see ``Event/encodeBody``).
    /// Empty for events read back from storage (not needed there).
    let template: [UInt8]
    /// Where the actor, payload and subject pieces end in `template`.
    let actorEnd: Int
    let payloadEnd: Int
    let subjectEnd: Int

    init(_ draft: EventDraft) {
        self.draft = draft
        var t: [UInt8] = []
        t.reserveCapacity(draft.actor.utf8.count + draft.subject.utf8.count + draft.type.utf8.count + 512)
        CanonicalJSON.appendLiteral(#"{"actor":"#, into: &t)
        CanonicalJSON.appendString(draft.actor, into: &t)
        actorEnd = t.count
        CanonicalJSON.appendLiteral(#","payload":"#, into: &t)
        CanonicalJSON.encode(draft.payload, into: &t)
        payloadEnd = t.count
        CanonicalJSON.appendLiteral(#","subject":"#, into: &t)
        CanonicalJSON.appendString(draft.subject, into: &t)
        subjectEnd = t.count
        CanonicalJSON.appendLiteral(#","type":"#, into: &t)
        CanonicalJSON.appendString(draft.type, into: &t)
        CanonicalJSON.appendLiteral(#","type_version":"#, into: &t)
        CanonicalJSON.appendInteger(draft.typeVersion, into: &t)
        t.append(UInt8(ascii: "}"))
        template = t
    }

    init(decoded draft: EventDraft) {
        self.draft = draft
        self.template = []
        (actorEnd, payloadEnd, subjectEnd) = (0, 0, 0)
    }

    /// An upper bound of the canonical body's size in bytes (key ids up to 64 bytes).
    var bodySizeBound: Int { template.count + 256 }
}

/// `,"key":"<key id>"`: the piece of every body a key signs, encoded once per batch.
struct KeyPiece: Sendable {
    let bytes: [UInt8]
    init(_ keyID: String) {
        var b = Array(#","key":"#.utf8)
        CanonicalJSON.appendString(keyID, into: &b)
        bytes = b
    }

    /// A copy with storage of its own (see ``Parallel/ownCopy(_:)``).
    init(copying other: KeyPiece) {
        bytes = Parallel.ownCopy(other.bytes)
    }
}

/// Builds a ``PreparedBatch`` from requests in four passes, so that only the hash chain runs on one
/// core:
/// 1. plan (sequential, cheap): seqs, times, signing keys, where checkpoints fall;
/// 2. encode (parallel): each event's canonical body from its draft's pre-encoded pieces, with a
///    placeholder for `prev`;
/// 3. chain (sequential): fill in `prev`, hash, extend the Merkle frontier, fill in checkpoint
///    roots, build the events (unsigned);
/// 4. sign (parallel): each event's Ed25519 signature, filled in once before the batch is handed on.
struct BatchBuilder {
    let options: LedgerOptions
    /// Where event times come from (the wall clock; fixed in test vectors).
    let clock: () -> Timestamp
    private let start: WriterState
    private var plan: PlanState
    private var slots: [Slot] = []
    private var ranges: [Range<Int>] = []
    private var ledgerID: String?

    private enum Content {
        case draft(EncodedDraft)
        case checkpoint
    }

    private struct Slot {
        let seq: UInt64
        let time: Timestamp
        /// Index into `signers` (a key rotation inside the batch adds one).
        let signer: Int
        let content: Content
    }
    private var signers: [LedgerSigningKey]

    /// What the plan pass tracks: counts and times only, no hashes.
    private struct PlanState {
        var seq: UInt64
        var time: Timestamp
        var signer: LedgerSigningKey
        var checkpointedSize: UInt64
        var checkpointTime: Timestamp
    }

    init(state: WriterState, options: LedgerOptions, clock: @escaping () -> Timestamp = Timestamp.now) {
        self.options = options
        self.clock = clock
        self.start = state
        self.plan = PlanState(seq: state.seq, time: state.time, signer: state.signer,
            checkpointedSize: state.checkpointedSize, checkpointTime: state.checkpointTime)
        self.signers = [state.signer]
    }

    var isEmpty: Bool { slots.isEmpty }

    mutating func add(_ command: WriteCommand) {
        let first = slots.count
        // One clock reading per request: its events share a time (never earlier than the last one).
        let now = clock()
        plan.time = now > plan.time ? now : plan.time
        switch command {
        case .append(let drafts):
            for d in drafts { addSlot(.draft(d)) }
            ranges.append(first..<slots.count)
            // A due checkpoint follows the request's events; it is not part of the answer.
            if plan.seq - plan.checkpointedSize >= options.checkpointEvery { addCheckpoint() }
            return
        case .checkpoint:
            addCheckpoint()
        case .rotateKey(let newKey):
            addSlot(.draft(EncodedDraft(EventDraft(type: EventType.keyRotated, subject: "node", actor: "node", payload: [
                "key": .string(newKey.keyID), "public_key": .string(newKey.publicKey.base64),
                "previous_key": .string(plan.signer.keyID),
            ]))))
            plan.signer = newKey
            signers.append(newKey)
        case .create(let id):
            addSlot(.draft(EncodedDraft(EventDraft(type: EventType.ledgerCreated, subject: "ledger", actor: "node", payload: [
                "ledger_id": .string(id), "format": .string(LedgerStore.format),
                "key": .string(plan.signer.keyID), "public_key": .string(plan.signer.publicKey.base64),
            ]))))
            ledgerID = id
        }
        ranges.append(first..<slots.count)
    }

    /// Adds a checkpoint when the interval has passed and events arrived since the last one.
    mutating func addCheckpointIfDue(now: Timestamp) -> Bool {
        guard options.checkpointInterval > 0, plan.seq > plan.checkpointedSize,
            Double(now.nanoseconds - plan.checkpointTime.nanoseconds) / 1e9 >= options.checkpointInterval
        else { return false }
        plan.time = now > plan.time ? now : plan.time
        addCheckpoint()
        return true
    }

    private mutating func addCheckpoint() {
        addSlot(.checkpoint)
        plan.checkpointedSize = plan.seq - 1
        plan.checkpointTime = plan.time
    }

    private mutating func addSlot(_ content: Content) {
        plan.seq += 1
        slots.append(Slot(seq: plan.seq, time: plan.time, signer: signers.count - 1, content: content))
    }

    /// Runs passes 2–4 and returns the finished batch.
    func finish() -> PreparedBatch {
        chain().sign()
    }

    /// Runs passes 2 and 3: everything but the signatures.
    func chain() -> ChainedBatch {
        let n = slots.count
        let slots = self.slots
        let signers = self.signers
        let keyIDs = signers.map(\.keyID)
        let keyPieces = keyIDs.map(KeyPiece.init)

        // Pass 2: canonical bodies with a `prev` placeholder, in parallel.
        var bodies = [[UInt8]](repeating: [], count: n)
        var prevOffsets = [Int](repeating: 0, count: n)
        bodies.withUnsafeMutableBufferPointer { bodyBuffer in
            prevOffsets.withUnsafeMutableBufferPointer { offsetBuffer in
                // Each index belongs to exactly one block: the writes are disjoint.
                nonisolated(unsafe) let bodyOut = bodyBuffer
                nonisolated(unsafe) let offsetOut = offsetBuffer
                Parallel.forEachBlock(count: n) { range in
                    let keys = keyPieces.map { KeyPiece(copying: $0) }  // this worker's own copies
                    var time = Timestamp(nanoseconds: .min)
                    var timeBytes: [UInt8] = []
                    for i in range {
                        guard case .draft(let d) = slots[i].content else { continue }
                        if slots[i].time != time {  // a request's events share one time
                            time = slots[i].time
                            timeBytes = time.rfc3339Bytes
                        }
                        (bodyOut[i], offsetOut[i]) = Event.encodeBody(seq: slots[i].seq, timeBytes: timeBytes,
                            content: d, key: keys[slots[i].signer])
                    }
                }
            }
        }

        // Pass 3: the hash chain and the Merkle tree, in order; the events, still unsigned.
        var batch = PreparedBatch(state: start)
        batch.ledgerID = ledgerID
        batch.ranges = ranges
        var merkleNodes: [(UInt64, Digest32)] = []
        merkleNodes.reserveCapacity(2 * n + 64)
        var s = start
        var events: [Event] = []
        events.reserveCapacity(n)
        for i in 0..<n {
            let slot = slots[i]
            let content: EncodedDraft
            var body: [UInt8] = []
            swap(&body, &bodies[i])  // moved, not shared: the event owns it
            switch slot.content {
            case .draft(let d):
                content = d
                Event.patchPrev(&body, at: prevOffsets[i], s.hash)
            case .checkpoint:
                let root = s.frontier.root
                content = EncodedDraft(EventDraft(type: EventType.checkpoint, subject: "ledger", actor: "node", payload: [
                    "tree_size": .int(Int64(s.frontier.size)), "root": .string(root.hex),
                ]))
                batch.checkpointRows.append((slot.seq, LedgerStore.seqKey(s.frontier.size) + root.bytes))
                s.checkpointedSize = s.frontier.size
                s.checkpointTime = slot.time
                let at: Int
                (body, at) = Event.encodeBody(seq: slot.seq, timeBytes: slot.time.rfc3339Bytes, content: content,
                    key: keyPieces[slot.signer])
                Event.patchPrev(&body, at: at, s.hash)
            }
            let hash = Digest32.sha256(body)
            events.append(Event(seq: slot.seq, time: slot.time, content: content, prev: s.hash,
                key: keyIDs[slot.signer], hash: hash, signature: .unset, body: body))
            s.frontier.append(leafHash: MerkleHash.leaf(hash), storingInto: &merkleNodes)
            s.seq = slot.seq
            s.hash = hash
            s.time = slot.time
        }
        s.signer = plan.signer
        batch.state = s
        batch.merkleNodes = merkleNodes
        batch.events = events

        return ChainedBatch(batch: batch, signerIndex: slots.map(\.signer), signers: signers)
    }
}

/// A batch whose hash chain and Merkle nodes are computed and whose events are built, waiting
/// for their signatures. The writer signs one batch while the next one is being chained.
struct ChainedBatch: Sendable {
    private let batch: PreparedBatch
    /// For each event, its signer in `signers`.
    let signerIndex: [Int]
    let signers: [LedgerSigningKey]

    init(batch: PreparedBatch, signerIndex: [Int], signers: [LedgerSigningKey]) {
        self.batch = batch
        self.signerIndex = signerIndex
        self.signers = signers
    }

    var count: Int { batch.events.count }
    /// The writer's state once this batch is durable.
    var state: WriterState { batch.state }

    /// Pass 4: the signatures, in parallel. Each event is signed exactly once, here, before the
    /// batch goes to the committer (see ``Event/sign(with:)``).
    func sign() -> PreparedBatch {
        let events = batch.events
        let signerIndex = self.signerIndex
        let signers = self.signers
        events.withUnsafeBufferPointer { buffer in
            // Read-only access to the array; each event is signed by exactly one worker.
            nonisolated(unsafe) let events = buffer
            Parallel.forEachBlock(count: events.count) { range in
                // One copy of the key per block and signer: taking it from the shared array for
                // every event would bounce its reference counts between the cores.
                var current = signerIndex[range.lowerBound]
                var signer = signers[current]
                for i in range {
                    if signerIndex[i] != current {
                        current = signerIndex[i]
                        signer = signers[current]
                    }
                    events[i].sign(with: signer)
                }
            }
        }
        return batch
    }
}
