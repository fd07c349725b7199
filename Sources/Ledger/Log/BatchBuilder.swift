import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Builds a ``PreparedBatch`` from requests: assigns seqs and times, chains hashes, extends the
/// Merkle frontier, inserts checkpoints that are due, and signs every event (in parallel).
struct BatchBuilder {
    let options: LedgerOptions
    private(set) var batch: PreparedBatch
    private var signers: [LedgerSigningKey] = []

    init(state: WriterState, options: LedgerOptions) {
        self.options = options
        self.batch = PreparedBatch(state: state)
    }

    mutating func add(_ command: WriteCommand) {
        let start = batch.events.count
        switch command {
        case .append(let drafts):
            for d in drafts { addEvent(d) }
            batch.ranges.append(start..<batch.events.count)
            // A due checkpoint follows the request's events; it is not part of the answer.
            if batch.state.frontier.size - batch.state.checkpointedSize >= options.checkpointEvery {
                addCheckpoint()
            }
            return
        case .checkpoint:
            addCheckpoint()
        case .rotateKey(let newKey):
            let old = batch.state.signer
            addEvent(EventDraft(type: EventType.keyRotated, subject: "node", actor: "node", payload: [
                "key": .string(newKey.keyID), "public_key": .string(newKey.publicKey.base64),
                "previous_key": .string(old.keyID),
            ]))
            batch.state.signer = newKey
        case .create(let ledgerID):
            let key = batch.state.signer
            addEvent(EventDraft(type: EventType.ledgerCreated, subject: "ledger", actor: "node", payload: [
                "ledger_id": .string(ledgerID), "format": .string(LedgerStore.format),
                "key": .string(key.keyID), "public_key": .string(key.publicKey.base64),
            ]))
            batch.ledgerID = ledgerID
        }
        batch.ranges.append(start..<batch.events.count)
    }

    /// Adds a checkpoint when the interval has passed and events arrived since the last one.
    mutating func addCheckpointIfDue(now: Timestamp) -> Bool {
        guard options.checkpointInterval > 0, batch.state.frontier.size > batch.state.checkpointedSize,
            Double(now.nanoseconds - batch.state.checkpointTime.nanoseconds) / 1e9 >= options.checkpointInterval
        else { return false }
        addCheckpoint()
        return true
    }

    private mutating func addCheckpoint() {
        let size = batch.state.frontier.size
        let root = batch.state.frontier.root
        addEvent(EventDraft(type: EventType.checkpoint, subject: "ledger", actor: "node", payload: [
            "tree_size": .int(Int64(size)), "root": .string(root.hex),
        ]))
        let seq = batch.state.seq
        batch.checkpointRows.append((seq, LedgerStore.seqKey(size) + root.bytes))
        batch.state.checkpointedSize = size
        batch.state.checkpointTime = batch.state.time
    }

    private mutating func addEvent(_ draft: EventDraft) {
        var s = batch.state
        let now = Timestamp.now()
        let time = now > s.time ? now : s.time
        let e = Event.unsigned(seq: s.seq + 1, time: time, draft: draft, prev: s.hash, key: s.signer.keyID)
        s.seq = e.seq
        s.hash = e.hash
        s.time = time
        for node in s.frontier.append(leafHash: MerkleHash.leaf(e.hash.bytes)) {
            batch.merkleNodes.append((MerkleHash.postOrderPosition(level: node.level, index: node.index), node.hash))
        }
        batch.state = s
        batch.events.append(e)
        signers.append(s.signer)
    }

    /// Signs every event and returns the finished batch.
    consuming func finish() -> PreparedBatch {
        var events = batch.events
        let signers = self.signers
        let n = events.count
        let workers = n >= 16 ? min(Cores.available, n / 8) : 1
        if workers <= 1 {
            for i in 0..<n { events[i].sign(with: signers[i]) }
        } else {
            events.withUnsafeMutableBufferPointer { buffer in
                // Each worker writes a disjoint slice of the buffer, and concurrentPerform returns
                // only after every worker finished, so the buffer outlives all accesses.
                nonisolated(unsafe) let shared = buffer
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var i = w
                    while i < n {
                        shared[i].sign(with: signers[i])
                        i += workers
                    }
                }
            }
        }
        batch.events = events
        return batch
    }
}

enum Cores {
    /// Cores available to this process.
    static let available: Int = {
        #if canImport(Glibc)
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, n)
        #else
        return 2
        #endif
    }()
}
