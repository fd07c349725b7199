import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A draft whose payload has been encoded canonically (by the appender, in parallel with others).
///
/// A reference type: a draft travels from the appender through the batch builder into the event
/// it becomes, and each hand-over is one retain instead of one per string.
final class EncodedDraft: Sendable {
    let draft: EventDraft
    /// The payload's canonical bytes; empty for events read back from storage (not needed there).
    let payload: [UInt8]

    init(_ draft: EventDraft) {
        self.draft = draft
        self.payload = CanonicalJSON.encode(draft.payload)
    }

    init(decoded draft: EventDraft) {
        self.draft = draft
        self.payload = []
    }
}

/// Builds a ``PreparedBatch`` from requests in four passes, so that only the hash chain runs on one
/// core:
/// 1. plan (sequential, cheap): seqs, times, signing keys, where checkpoints fall;
/// 2. encode (parallel): each event's canonical body, with a placeholder for `prev`;
/// 3. chain (sequential): fill in `prev`, hash, extend the Merkle frontier, fill in checkpoint roots;
/// 4. sign (parallel): Ed25519 signatures and the stored records.
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

        // Pass 2: canonical bodies with a `prev` placeholder, in parallel.
        var bodies = [[UInt8]](repeating: [], count: n)
        var prevOffsets = [Int](repeating: 0, count: n)
        bodies.withUnsafeMutableBufferPointer { bodyBuffer in
            prevOffsets.withUnsafeMutableBufferPointer { offsetBuffer in
                // Each index belongs to exactly one block: the writes are disjoint.
                nonisolated(unsafe) let bodyOut = bodyBuffer
                nonisolated(unsafe) let offsetOut = offsetBuffer
                Parallel.forEachBlock(count: n) { range in
                    let keys = Parallel.ownCopies(keyIDs)
                    var time = Timestamp(nanoseconds: .min)
                    var timeBytes: [UInt8] = []
                    for i in range {
                        guard case .draft(let d) = slots[i].content else { continue }
                        if slots[i].time != time {  // a request's events share one time
                            time = slots[i].time
                            timeBytes = time.rfc3339Bytes
                        }
                        (bodyOut[i], offsetOut[i]) = Event.encodeBody(seq: slots[i].seq, time: time,
                            draft: d.draft, payload: d.payload, key: keys[slots[i].signer], timeBytes: timeBytes)
                    }
                }
            }
        }

        // Pass 3: the hash chain and the Merkle tree, in order.
        var batch = PreparedBatch(state: start)
        batch.ledgerID = ledgerID
        batch.ranges = ranges
        var merkleNodes: [(UInt64, Digest32)] = []
        merkleNodes.reserveCapacity(2 * n + 64)
        var s = start
        var drafts: [EncodedDraft] = []
        drafts.reserveCapacity(n)
        var hashes: [Digest32] = []
        hashes.reserveCapacity(n)
        var prevs: [Digest32] = []
        prevs.reserveCapacity(n)
        for i in 0..<n {
            let slot = slots[i]
            switch slot.content {
            case .draft(let d):
                drafts.append(d)
                Event.patchPrev(&bodies[i], at: prevOffsets[i], s.hash)
            case .checkpoint:
                let root = s.frontier.root
                let d = EncodedDraft(EventDraft(type: EventType.checkpoint, subject: "ledger", actor: "node", payload: [
                    "tree_size": .int(Int64(s.frontier.size)), "root": .string(root.hex),
                ]))
                drafts.append(d)
                batch.checkpointRows.append((slot.seq, LedgerStore.seqKey(s.frontier.size) + root.bytes))
                s.checkpointedSize = s.frontier.size
                s.checkpointTime = slot.time
                var (body, at) = Event.encodeBody(seq: slot.seq, time: slot.time, draft: d.draft, payload: d.payload,
                    key: keyIDs[slot.signer])
                Event.patchPrev(&body, at: at, s.hash)
                bodies[i] = body
            }
            let hash = Digest32.sha256(bodies[i])
            prevs.append(s.hash)
            hashes.append(hash)
            s.frontier.append(leafHash: MerkleHash.leaf(hash), storingInto: &merkleNodes)
            s.seq = slot.seq
            s.hash = hash
            s.time = slot.time
        }
        s.signer = plan.signer
        batch.state = s
        batch.merkleNodes = merkleNodes

        return ChainedBatch(batch: batch, seqs: slots.map(\.seq), times: slots.map(\.time),
            signerIndex: slots.map(\.signer), signers: signers, keyIDs: keyIDs, drafts: drafts, prevs: prevs,
            hashes: hashes, bodies: bodies)
    }
}

/// A batch whose hash chain and Merkle nodes are computed, waiting for its signatures. The
/// writer signs one batch while the next one is being chained.
struct ChainedBatch: Sendable {
    var batch: PreparedBatch
    let seqs: [UInt64]
    let times: [Timestamp]
    let signerIndex: [Int]
    let signers: [LedgerSigningKey]
    let keyIDs: [String]
    let drafts: [EncodedDraft]
    let prevs: [Digest32]
    let hashes: [Digest32]
    let bodies: [[UInt8]]

    var count: Int { seqs.count }

    /// Pass 4: signatures and events, in parallel.
    func sign() -> PreparedBatch {
        var batch = self.batch
        let n = count
        batch.events = [Event](unsafeUninitializedCapacity: n) { buffer, initialized in
            // Each index belongs to exactly one block, and every index is written before returning.
            nonisolated(unsafe) let out = buffer
            Parallel.forEachBlock(count: n) { range in
                // This worker's own copies of what all events share (see Parallel.ownCopies).
                let keys = Parallel.ownCopies(keyIDs)
                let signers = self.signers
                for i in range {
                    let signer = signerIndex[i]
                    (out.baseAddress! + i).initialize(to: Event(seq: seqs[i], time: times[i], content: drafts[i],
                        prev: prevs[i], key: keys[signer], hash: hashes[i], signature: signers[signer].sign(hashes[i]),
                        body: bodies[i]))
                }
            }
            initialized = n
        }
        return batch
    }
}
