import Foundation

/// The group-commit writer: two threads in a pipeline.
///
/// The *preparer* takes every waiting request, builds one batch (seqs, hash chain, Merkle nodes,
/// checkpoints) and signs it on all cores; the *committer* writes prepared batches in one LMDB
/// transaction each and acknowledges them only after the commit (fsync) returned. While one batch
/// waits for the disk the next one is being signed. A batch is built on the state its predecessor
/// will have; if a commit fails, the batches built on it are rebuilt from the last durable state,
/// their requests going back to the front of the queue — nothing is acknowledged that is not durable,
/// and nothing is lost that was not acknowledged.
final class LedgerWriter: @unchecked Sendable {
    // Sendable: every mutable property below is read and written only while holding `condition`
    // (an NSCondition), except `speculative`, which only the preparer thread touches.
    private let condition = NSCondition()
    private let store: LedgerStore
    private let options: LedgerOptions
    private let onCommit: @Sendable (UInt64) -> Void

    final class Request: @unchecked Sendable {
        // Sendable: immutable after init; the continuation is resumed exactly once by the committer.
        let command: WriteCommand
        let eventCount: Int
        let continuation: CheckedContinuation<[Event], any Error>?
        init(_ command: WriteCommand, continuation: CheckedContinuation<[Event], any Error>?) {
            self.command = command
            if case .append(let d) = command { eventCount = d.count } else { eventCount = 1 }
            self.continuation = continuation
        }
    }

    private struct Prepared {
        let batch: PreparedBatch
        let requests: [Request]
        let generation: UInt64
    }

    private var pending: [Request] = []
    private var prepared: [Prepared] = []
    private var preparing = false
    private var committed: WriterState
    private var generation: UInt64 = 0
    private var resetTo: WriterState?
    private var closing = false
    private var threadsRunning = 0
    private var speculative: WriterState  // preparer thread only

    /// Statistics for benchmarks: transactions committed and events in them.
    private(set) var commits: UInt64 = 0
    private(set) var committedEvents: UInt64 = 0

    init(store: LedgerStore, state: WriterState, options: LedgerOptions, onCommit: @escaping @Sendable (UInt64) -> Void) {
        self.store = store
        self.options = options
        self.committed = state
        self.speculative = state
        self.onCommit = onCommit
    }

    func start() {
        threadsRunning = 2
        let preparer = Thread { [self] in preparerLoop() }
        preparer.name = "kvitto-ledger-prepare"
        preparer.start()
        let committer = Thread { [self] in committerLoop() }
        committer.name = "kvitto-ledger-commit"
        committer.start()
    }

    var state: WriterState {
        condition.lock()
        defer { condition.unlock() }
        return committed
    }

    var statistics: (commits: UInt64, events: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        return (commits, committedEvents)
    }

    /// Queues `command`; returns the events written for it once they are durable.
    func submit(_ command: WriteCommand) async throws -> [Event] {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Event], any Error>) in
            condition.lock()
            if closing {
                condition.unlock()
                c.resume(throwing: LedgerError(.closed, "the ledger is closed"))
                return
            }
            pending.append(Request(command, continuation: c))
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Writes what is queued, then stops both threads. Later submits fail with `ledger.closed`.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        while threadsRunning > 0 { condition.wait() }
        condition.unlock()
    }

    // MARK: preparer

    private func preparerLoop() {
        condition.lock()
        while true {
            // Wait for work, a due checkpoint, or closing; keep at most one batch ahead of the disk.
            var takeTimerCheckpoint = false
            while true {
                if !pending.isEmpty && prepared.count < 1 { break }
                if closing && pending.isEmpty { break }
                let now = Timestamp.now()
                if options.checkpointInterval > 0, prepared.isEmpty, resetTo == nil,
                    speculative.frontier.size > speculative.checkpointedSize
                {
                    let due = speculative.checkpointTime.nanoseconds + Int64(options.checkpointInterval * 1e9)
                    if now.nanoseconds >= due { takeTimerCheckpoint = true; break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now.nanoseconds) / 1e9 + 0.001))
                } else {
                    condition.wait()
                }
            }
            if closing && pending.isEmpty && !takeTimerCheckpoint { break }
            if let reset = resetTo {
                speculative = reset
                resetTo = nil
            }
            var requests: [Request] = []
            var count = 0
            while let r = pending.first, requests.isEmpty || count + r.eventCount <= options.maxBatchEvents {
                requests.append(pending.removeFirst())
                count += r.eventCount
            }
            let gen = generation
            preparing = true
            condition.unlock()

            var builder = BatchBuilder(state: speculative, options: options)
            for r in requests { builder.add(r.command) }
            if takeTimerCheckpoint || requests.isEmpty {
                _ = builder.addCheckpointIfDue(now: Timestamp.now())
            }
            let batch = builder.finish()

            condition.lock()
            preparing = false
            if gen == generation {
                speculative = batch.state
                if !batch.events.isEmpty { prepared.append(Prepared(batch: batch, requests: requests, generation: gen)) }
            } else {
                // A commit failed while this batch was being built on top of it: build again.
                pending.insert(contentsOf: requests, at: 0)
            }
            condition.broadcast()
        }
        threadsRunning -= 1
        condition.broadcast()
        condition.unlock()
    }

    // MARK: committer

    private func committerLoop() {
        condition.lock()
        while true {
            while prepared.isEmpty && !(closing && pending.isEmpty && !preparing) { condition.wait() }
            if prepared.isEmpty { break }
            let item = prepared.removeFirst()
            condition.unlock()

            let result = Result { try write(item.batch) }

            condition.lock()
            switch result {
            case .success:
                committed = item.batch.state
                commits += 1
                committedEvents += UInt64(item.batch.events.count)
                for (request, range) in zip(item.requests, item.batch.ranges) {
                    request.continuation?.resume(returning: Array(item.batch.events[range]))
                }
                let seq = committed.seq
                condition.broadcast()
                condition.unlock()
                onCommit(seq)
                condition.lock()
            case .failure(let error):
                let e = LedgerError.storage(error, "appending events")
                for request in item.requests { request.continuation?.resume(throwing: e) }
                // Batches built on the failed one go back to the queue, in order, to be rebuilt.
                generation += 1
                resetTo = committed
                let stale = prepared.flatMap(\.requests)
                prepared.removeAll()
                pending.insert(contentsOf: stale, at: 0)
                condition.broadcast()
            }
        }
        threadsRunning -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// One durable LMDB transaction for the batch; grows the map when it is full.
    private func write(_ batch: PreparedBatch) throws {
        try Self.write(batch, to: store)
    }

    static func write(_ batch: PreparedBatch, to store: LedgerStore) throws {
        while true {
            do {
                try store.env.write { txn in
                    if let ledgerID = batch.ledgerID {
                        try txn.put(store.meta, LedgerStore.metaFormat, Array(LedgerStore.format.utf8))
                        try txn.put(store.meta, LedgerStore.metaLedgerID, Array(ledgerID.utf8))
                    }
                    for e in batch.events {
                        try txn.put(store.events, LedgerStore.seqKey(e.seq), e.record, append: true)
                    }
                    for (pos, hash) in batch.merkleNodes {
                        try txn.put(store.merkle, LedgerStore.seqKey(pos), hash.bytes, append: true)
                    }
                    for (seq, row) in batch.checkpointRows {
                        try txn.put(store.checkpoints, LedgerStore.seqKey(seq), row, append: true)
                    }
                    try txn.put(store.meta, LedgerStore.metaHead,
                        LedgerStore.encodeHead(.init(seq: batch.state.seq, hash: batch.state.hash)))
                    try txn.put(store.meta, LedgerStore.metaActiveKey, Array(batch.state.signer.keyID.utf8))
                }
                return
            } catch let e as LMDBError where e.isMapFull {
                let current = store.env.info.mapSize
                guard current < store.env.mapSizeLimit else {
                    throw LedgerError(.storageFull,
                        "the ledger reached its size limit of \(store.env.mapSizeLimit) bytes; nothing was written for this batch — raise the limit (--max-size) and append again")
                }
                try store.env.grow(to: min(current * 2, store.env.mapSizeLimit))
            }
        }
    }
}
