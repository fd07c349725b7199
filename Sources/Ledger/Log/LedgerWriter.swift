import Foundation

/// The group-commit writer: three threads in a pipeline.
///
/// The *preparer* takes every waiting request and builds one batch: seqs, canonical bodies (on all
/// cores), the hash chain and the Merkle nodes. The *signer* signs the previous batch on all cores
/// meanwhile, and the *committer* writes every signed batch waiting in one LMDB transaction and
/// acknowledges them only after the commit (fsync) returned — while a slow commit runs, the signer
/// goes on signing (up to ``maxPreparedBatches`` batches ahead), and the next commit takes them
/// all. Under concurrent load it may wait for more appends to join a commit
/// (``LedgerOptions/commitDelay``). Each batch is built on the state its predecessor will have; if
/// a commit fails, the batches built on it are rebuilt from the last durable state, their requests
/// going back to the queue — nothing is acknowledged that is not durable, and nothing is lost that
/// was not acknowledged.
final class LedgerWriter: @unchecked Sendable {
    // Sendable: every mutable property below is read and written only while holding the lock of
    // `condition`, except `speculative`, which only the preparer thread touches.
    private let condition = StageConditions(count: Stage.allCases.count)

    /// The threads that wait on `condition`, each on its own condition variable: a change wakes
    /// only the stage that can act on it.
    private enum Stage: Int, CaseIterable {
        case preparer, signer, committer, closer
    }
    private let store: LedgerStore
    private let options: LedgerOptions
    private let onCommit: @Sendable (UInt64) -> Void
    /// Small blobs put since the last commit; made durable before each commit.
    private let blobSync: BlobSync?
    /// Small blobs put since the last commit; written inside each commit.
    private let inline: InlineBlobs?

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

    /// A batch in the pipeline, with the requests it answers and the generation it was built in.
    private struct Staged<Batch> {
        let batch: Batch
        let requests: [Request]
        let generation: UInt64
    }

    private var pending: [Request] = []
    private var chained: [Staged<ChainedBatch>] = []
    private var prepared: [Staged<PreparedBatch>] = []
    private var chaining = false
    private var signing = false
    private var committing = false
    private var committed: WriterState
    private var generation: UInt64 = 0
    private var resetTo: WriterState?
    private var closing = false
    private var threadsRunning = 0
    private var speculative: WriterState  // preparer thread only

    /// Statistics for benchmarks: transactions committed, events in them, and commits that
    /// waited for company (``LedgerOptions/commitDelay``).
    private var commits: UInt64 = 0
    private var committedEvents: UInt64 = 0
    private var delayedCommits: UInt64 = 0
    /// When the last successful commit ended (uptime nanoseconds), and how many appends it answered.
    private var lastCommitEnd: UInt64?
    private var lastCommitRequests = 0
    /// Appends taken by the preparer and not yet chained, and in the batch being signed (a
    /// checkpoint batch has none: it is no company for ``waitForCompany()``).
    private var chainingRequests = 0
    private var signingRequests = 0

    init(store: LedgerStore, state: WriterState, options: LedgerOptions, blobSync: BlobSync? = nil,
         inline: InlineBlobs? = nil, onCommit: @escaping @Sendable (UInt64) -> Void) {
        self.store = store
        self.blobSync = blobSync
        self.inline = inline
        self.options = options
        self.committed = state
        self.speculative = state
        self.onCommit = onCommit
    }

    func start() {
        threadsRunning = 3
        let preparer = Thread { [self] in preparerLoop() }
        preparer.name = "kvitto-ledger-prepare"
        preparer.start()
        let signer = Thread { [self] in signerLoop() }
        signer.name = "kvitto-ledger-sign"
        signer.start()
        let committer = Thread { [self] in committerLoop() }
        committer.name = "kvitto-ledger-commit"
        committer.start()
    }

    var statistics: (commits: UInt64, events: UInt64, delayed: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        return (commits, committedEvents, delayedCommits)
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
            // Only the preparer waits for requests, and only for the first one: when some were
            // already queued, it is busy or waits for the signer, which wakes it in turn.
            let wake = pending.isEmpty
            pending.append(Request(command, continuation: c))
            if wake { self.wake(.preparer) }
            condition.unlock()
        }
    }

    /// Writes what is queued, then stops the three threads. Later submits fail with `ledger.closed`.
    func close() {
        condition.lock()
        closing = true
        condition.signalAll()
        while threadsRunning > 0 { condition.wait(Stage.closer.rawValue) }
        condition.unlock()
    }

    /// Wakes `stage` after a change it may act on; while the ledger closes, wakes every stage,
    /// whose exit conditions depend on the whole pipeline. (Called with the lock held.)
    private func wake(_ stage: Stage) {
        if closing { condition.signalAll() } else { condition.signal(stage.rawValue) }
    }

    // MARK: preparer

    /// True when nothing is queued or in flight before the signer and closing was asked for.
    private var upstreamDone: Bool { closing && pending.isEmpty && !chaining }

    /// True when closing and the whole pipeline is empty: a failed commit can requeue requests
    /// until then, so the preparer stays.
    private var drained: Bool {
        upstreamDone && chained.isEmpty && !signing && prepared.isEmpty && !committing
    }

    private func preparerLoop() {
        condition.lock()
        while true {
            // Wait for work, a due checkpoint, or closing; keep at most one chained batch ahead.
            var takeTimerCheckpoint = false
            while true {
                if !pending.isEmpty && chained.isEmpty { break }
                if drained { break }
                let now = Timestamp.now()
                if options.checkpointInterval > 0, !closing, chained.isEmpty, prepared.isEmpty, resetTo == nil,
                    speculative.frontier.size > speculative.checkpointedSize
                {
                    let due = speculative.checkpointTime.nanoseconds + Int64(options.checkpointInterval * 1e9)
                    if now.nanoseconds >= due { takeTimerCheckpoint = true; break }
                    condition.wait(Stage.preparer.rawValue, nanoseconds: UInt64(due - now.nanoseconds) + 1_000_000)
                } else {
                    condition.wait(Stage.preparer.rawValue)
                }
            }
            if drained && !takeTimerCheckpoint { break }
            if pending.isEmpty && !takeTimerCheckpoint { continue }
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
            chaining = true
            chainingRequests = requests.count
            condition.unlock()

            var builder = BatchBuilder(state: speculative, options: options)
            for r in requests { builder.add(r.command) }
            if takeTimerCheckpoint || requests.isEmpty {
                _ = builder.addCheckpointIfDue(now: Timestamp.now())
            }
            let batch = builder.chain()

            condition.lock()
            chaining = false
            chainingRequests = 0
            if gen == generation {
                speculative = batch.state
                if batch.count > 0 {
                    chained.append(Staged(batch: batch, requests: requests, generation: gen))
                    wake(.signer)
                }
            } else {
                // A commit failed while this batch was being built on top of it: build again.
                pending.insert(contentsOf: requests, at: 0)
            }
            if closing { condition.signalAll() }
        }
        threadsRunning -= 1
        condition.signalAll()
        condition.unlock()
    }

    // MARK: signer

    private func signerLoop() {
        condition.lock()
        while true {
            // Sign ahead of a slow commit (the committer writes every signed batch waiting in one
            // transaction), within a bound on what waits in memory.
            // It stops only when the whole pipeline is empty: a commit failing while the ledger
            // closes sends its requests back to be chained again, and they need signing.
            while (chained.isEmpty || preparedEvents >= Self.maxPreparedBatches * options.maxBatchEvents)
                && !(upstreamDone && chained.isEmpty && prepared.isEmpty && !committing)
            {
                condition.wait(Stage.signer.rawValue)
            }
            if chained.isEmpty { break }
            let item = chained.removeFirst()
            signing = true
            signingRequests = item.requests.count
            // The preparer keeps at most one chained batch ahead: it may build the next one.
            wake(.preparer)
            condition.unlock()

            let batch = item.batch.sign()

            condition.lock()
            signing = false
            signingRequests = 0
            if item.generation == generation {
                prepared.append(Staged(batch: batch, requests: item.requests, generation: item.generation))
                wake(.committer)
            } else {
                pending.insert(contentsOf: item.requests, at: 0)
                wake(.preparer)
            }
            if closing { condition.signalAll() }
        }
        threadsRunning -= 1
        condition.signalAll()
        condition.unlock()
    }

    // MARK: committer

    private func committerLoop() {
        condition.lock()
        while true {
            while prepared.isEmpty && !(upstreamDone && chained.isEmpty && !signing) {
                condition.wait(Stage.committer.rawValue)
            }
            if prepared.isEmpty { break }
            waitForCompany()
            // Every signed batch waiting goes into this one transaction: when the disk is slow,
            // commits grow instead of leaving the signer idle.
            let items = prepared
            prepared.removeAll()
            committing = true
            // The signer may have stopped at the bound on signed batches waiting.
            if !chained.isEmpty { wake(.signer) }
            // With nothing in flight, the preparer may time a checkpoint.
            if chained.isEmpty && options.checkpointInterval > 0 { wake(.preparer) }
            if closing { condition.signalAll() }
            condition.unlock()

            // Taken after the batches: every blob put before one of their appends was queued
            // before it, so it is in this commit (or an earlier one).
            let blobs = inline?.queued() ?? []
            let result = Result {
                try options.beforeCommit?(items.count)
                try blobSync?.flush()
                return try Self.write(items.map(\.batch), blobs: blobs, inline: inline, to: store)
            }
            if case .success(let erased) = result {
                // Written: readers find them in the blob table now. (After a failed commit they
                // stay waiting for the next one.)
                inline?.committed(blobs.map(\.hash))
                // Before the next write transaction can reuse the pages the erased rows held.
                if options.scrubsErasedRows { inline?.scrub(erased) }
            }

            condition.lock()
            committing = false
            switch result {
            case .success:
                lastCommitEnd = DispatchTime.now().uptimeNanoseconds
                lastCommitRequests = items.reduce(0) { $0 + $1.requests.count }
                committed = items[items.count - 1].batch.state
                commits += 1
                committedEvents += UInt64(items.reduce(0) { $0 + $1.batch.events.count })
                let seq = committed.seq
                if closing { condition.signalAll() }
                condition.unlock()
                // Publish the new head before any appender returns: whoever an appender tells
                // (another task reading the log) must see its events.
                onCommit(seq)
                for item in items {
                    for (request, range) in zip(item.requests, item.batch.ranges) {
                        request.continuation?.resume(returning: Array(item.batch.events[range]))
                    }
                }
                condition.lock()
            case .failure(let error):
                // Nothing of the transaction was written: all its batches fail together.
                let e = LedgerError.storage(error, "appending events")
                for item in items {
                    for request in item.requests { request.continuation?.resume(throwing: e) }
                }
                // Batches built on the failed ones go back to the queue to be rebuilt; those still
                // being chained or signed requeue themselves when they see the new generation.
                generation += 1
                resetTo = committed
                let stale = prepared.flatMap(\.requests) + chained.flatMap(\.requests)
                prepared.removeAll()
                chained.removeAll()
                pending.insert(contentsOf: stale, at: 0)
                condition.signalAll()
            }
        }
        threadsRunning -= 1
        condition.signalAll()
        condition.unlock()
    }

    /// Group commit under concurrent load (``LedgerOptions/commitDelay``): when the last commit
    /// answered several appends or others are on their way, waits until `commitDelay` after the
    /// last commit for more to join this one — no longer, not beyond ``LedgerOptions/maxBatchEvents``
    /// ready, not while closing. A caller appending alone finds no company and does not wait.
    /// (Called by the committer with the lock held and signed batches waiting.)
    private func waitForCompany() {
        guard options.commitDelay > 0, !closing, let lastCommitEnd else { return }
        let company = lastCommitRequests > 1 || !pending.isEmpty || chainingRequests > 0 || signingRequests > 0
            || chained.contains { !$0.requests.isEmpty } || prepared.reduce(0, { $0 + $1.requests.count }) > 1
        guard company else { return }
        let deadline = lastCommitEnd + UInt64(options.commitDelay * 1e9)
        var waited = false
        while !closing && preparedEvents < options.maxBatchEvents {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { break }
            waited = true
            condition.wait(Stage.committer.rawValue, nanoseconds: deadline - now)
        }
        if waited { delayedCommits += 1 }
    }

    /// Signed events waiting for the committer are bounded by this many full batches (memory,
    /// when the disk is slow).
    static let maxPreparedBatches = 4

    /// Events in signed batches waiting for the committer.
    private var preparedEvents: Int { prepared.reduce(0) { $0 + $1.batch.events.count } }

    /// One durable LMDB transaction for consecutive batches and the small blobs put before them,
    /// deleting the rows of blobs their `blob.erased` events name; grows the map when it is full.
    /// Returns the deleted rows and where their bytes lay, for ``InlineBlobs/scrub(_:)``.
    @discardableResult
    static func write(_ batches: [PreparedBatch], blobs: [(hash: Digest32, bytes: [UInt8])] = [],
        inline: InlineBlobs? = nil, to store: LedgerStore) throws -> [(hash: Digest32, range: Range<Int>?)]
    {
        guard let last = batches.last else { return [] }
        let erased = inline == nil ? [] : InlineBlobs.erasures(in: batches)
        while true {
            do {
                return try store.env.write { txn in
                    // First, before anything is written: where the erased rows lie in the file.
                    let deleted = try inline?.locate(erased, in: txn) ?? []
                    // A blob erased in the commit that would have written it is not written.
                    try inline?.write(blobs.filter { !erased.contains($0.hash) }, in: txn)
                    try inline?.delete(deleted.map(\.hash), in: txn)
                    try inline?.recordScrub(deleted, headSeq: last.state.seq, in: txn, meta: store.meta)
                    for batch in batches { try put(batch, in: txn, store: store) }
                    try txn.put(store.meta, LedgerStore.metaHead,
                        LedgerStore.encodeHead(.init(seq: last.state.seq, hash: last.state.hash)))
                    try txn.put(store.meta, LedgerStore.metaActiveKey, Array(last.state.signer.keyID.utf8))
                    return deleted
                }
            } catch let e as LMDBError where e.isMapFull {
                guard try store.env.growAfterMapFull(e) else {
                    throw LedgerError(.storageFull,
                        "the ledger reached its size limit of \(store.env.mapSizeLimit) bytes; nothing was written for this batch — raise the limit (--max-size) and append again")
                }
            }
        }
    }

    /// A batch's events, Merkle nodes and checkpoint rows (and, for the first batch, the ledger's
    /// identity), all appended at the end of their tables.
    private static func put(_ batch: PreparedBatch, in txn: LMDBTransaction, store: LedgerStore) throws {
        if let ledgerID = batch.ledgerID {
            try txn.put(store.meta, LedgerStore.metaFormat, Array(LedgerStore.format.utf8))
            try txn.put(store.meta, LedgerStore.metaLedgerID, Array(ledgerID.utf8))
        }
        for e in batch.events {
            // Fail closed should the sign pass ever miss an event: nothing of the transaction is
            // written, and its requests are answered with the error.
            guard e.signed != .unset else {
                throw LedgerError(.corrupt, "internal error: event \(e.seq) reached the committer unsigned; nothing was written")
            }
            // The stored record, `hash ‖ sig ‖ body`, written in place.
            try e.hash.withBytes { hash in
                try e.signed.withBytes { signature in
                    try e.body.withUnsafeBytes { body in
                        try txn.put(store.events, key: e.seq, hash, signature, body, append: true,
                            what: "events, seq \(e.seq)")
                    }
                }
            }
        }
        for (pos, hash) in batch.merkleNodes {
            try hash.withBytes {
                try txn.put(store.merkle, key: pos, $0, append: true, what: "merkle, position \(pos)")
            }
        }
        for (seq, row) in batch.checkpointRows {
            try txn.put(store.checkpoints, LedgerStore.seqKey(seq), row, append: true, what: "checkpoints, seq \(seq)")
        }
    }
}
