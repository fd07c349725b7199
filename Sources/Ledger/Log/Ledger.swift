import Foundation

/// Kvitto's system of record: a signed, hash-chained, Merkle-checkpointed, append-only event log
/// on LMDB.
///
/// Appends from any number of tasks are group-committed: each `append` returns only after the
/// LMDB transaction holding its events is durable. Reads, proofs and subscriptions run
/// concurrently with appends. Open a ledger with ``open(at:options:)``; one process at a time may
/// open it for writing, any number read-only.
public final class Ledger: Sendable {
    /// The ledger directory.
    public let path: String
    public let options: LedgerOptions
    let store: LedgerStore
    let writer: LedgerWriter?
    let broadcaster: HeadBroadcaster
    private let lock: WriterLock?
    /// The content-addressed store for message content, attachments and evidence.
    public let blobs: BlobStore

    private init(path: String, options: LedgerOptions, store: LedgerStore, writer: LedgerWriter?,
        broadcaster: HeadBroadcaster, lock: WriterLock?, blobSync: BlobSync? = nil, inline: InlineBlobs)
    {
        self.path = path
        self.options = options
        self.store = store
        self.writer = writer
        self.broadcaster = broadcaster
        self.lock = lock
        // The writing process's small blobs become durable with the next commit: inside it
        // (InlineBlobs) or synced just before it (BlobSync).
        self.blobs = BlobStore(directory: path + "/blobs", sync: blobSync, inline: inline)
    }

    /// Opens the ledger in `path` (creating it with `options.create`).
    public static func open(at path: String, options: LedgerOptions = LedgerOptions()) throws(LedgerError) -> Ledger {
        try options.validate()
        let create = options.create && !options.readOnly
        let store = try LedgerStore(path: path, options: options, create: create)
        let lock = options.readOnly ? nil : try WriterLock(directory: path)
        let keys = KeyStore(directory: options.keyDirectory ?? path + "/keys")
        do {
            if !options.readOnly {
                // Take (and give back) LMDB's writer mutex before reading the head. A writer killed
                // after its commit reached the data file but before it published the new
                // transaction id in the lock file leaves readers one commit behind until the next
                // writer recovers the mutex; reading first would build on that stale head.
                try store.env.write { _ in }
            }
            var stored = try store.env.read { txn in (head: try store.storedHead(txn), keyID: try store.activeKeyID(txn)) }
            let empty = try store.env.read { txn in try txn.count(store.events) == 0 }
            if stored.head == nil && empty {
                // Created (possibly by a process that died right after) but without its genesis event.
                guard create else {
                    throw LedgerError(.ledgerNotFound, "the ledger at \(path) was never initialised; open it for appending to finish")
                }
                let key = try keys.generate()
                var builder = BatchBuilder(state: WriterState(seq: 0, hash: .zero, time: Timestamp(nanoseconds: 0),
                    frontier: MerkleFrontier(), signer: key, checkpointedSize: 0, checkpointTime: .now()), options: options)
                builder.add(.create(ledgerID: UUID().uuidString.lowercased()))
                try LedgerWriter.write([builder.finish()], to: store)
                stored = try store.env.read { txn in (head: try store.storedHead(txn), keyID: try store.activeKeyID(txn)) }
            }
            let last = try store.env.read { txn in try txn.last(store.events).flatMap { LedgerStore.seq(fromKey: $0.key) } ?? 0 }
            // Read-only opens decode nothing: a damaged ledger must still open, so that `verify`
            // can name the first bad seq.
            if options.readOnly {
                return Ledger(path: path, options: options, store: store, writer: nil,
                    broadcaster: HeadBroadcaster(head: min(last, stored.head?.seq ?? last)), lock: nil,
                    inline: InlineBlobs(env: store.env, database: store.blobs, limit: 0))
            }
            guard let head = stored.head, let keyID = stored.keyID else {
                throw LedgerError(.corrupt, "\(path) has no head record; refusing to append — run `kvitto ledger verify`")
            }
            // The head record and the log must agree before anything is appended after them.
            let damaged = LedgerError(.corrupt,
                "the log ends at seq \(last) and its head record says \(head.seq), or its last event or checkpoint is damaged; refusing to append — run `kvitto ledger verify`")
            let lastEvent: Event?
            let checkpoint: Checkpoint?
            do {
                (lastEvent, checkpoint) = try store.env.read { txn in
                    (try store.event(txn, seq: head.seq), try store.latestCheckpoint(txn))
                }
            } catch {
                throw damaged
            }
            guard last == head.seq, let lastEvent, lastEvent.hash == head.hash else {
                throw damaged
            }
            let broadcaster = HeadBroadcaster(head: head.seq)
            let signer = try keys.load(keyID)
            let frontier = try store.env.read { txn in
                try MerkleFrontier(size: head.seq) { level, index in try store.merkleNode(txn, level: level, index: index) }
            }
            let state = WriterState(seq: head.seq, hash: head.hash, time: lastEvent.time, frontier: frontier,
                signer: signer, checkpointedSize: checkpoint?.treeSize ?? 0,
                checkpointTime: checkpoint?.event.time ?? lastEvent.time)
            let blobSync = BlobSync(directory: path + "/blobs", syncfs: options.syncBlobs)
            let inline = InlineBlobs(env: store.env, database: store.blobs, limit: max(0, options.inlineBlobLimit))
            // Bytes of rows erased by the last commit, if the process stopped before overwriting them.
            try inline.repairScrub(store: store, head: head.seq)
            let writer = LedgerWriter(store: store, state: state, options: options, blobSync: blobSync, inline: inline) { seq in
                broadcaster.publish(seq)
            }
            writer.start()
            return Ledger(path: path, options: options, store: store, writer: writer, broadcaster: broadcaster, lock: lock,
                blobSync: blobSync, inline: inline)
        } catch let e as LedgerError {
            throw e
        } catch {
            throw LedgerError.storage(error, "opening the ledger at \(path)")
        }
    }

    /// Writes a compacted copy of the log as one read transaction sees it — a head and every
    /// event, Merkle node and checkpoint up to it — to `directory/data.mdb`, which must not exist
    /// yet; appends go on meanwhile. Small blobs kept inline (``InlineBlobs``) are part of it; blob
    /// files and signing keys are not (see `kvitto backup`).
    public func copy(to directory: String) throws(LedgerError) {
        do { try store.env.copy(to: directory, compact: true) } catch { throw LedgerError.storage(error, "copying the ledger at \(path)") }
    }

    /// Writes what is queued and stops the writer. Subscriptions end with `ledger.closed`.
    public func close() {
        writer?.close()
        broadcaster.close()
        lock?.release()
    }

    deinit {
        writer?.close()
    }

    // MARK: appending

    /// Appends `drafts` as consecutive events and returns them once they are durable.
    /// The batch is all-or-nothing: on error none of it is stored.
    public func append(_ drafts: [EventDraft]) async throws(LedgerError) -> [Event] {
        guard !drafts.isEmpty else { return [] }
        var encoded: [EncodedDraft] = []
        encoded.reserveCapacity(drafts.count)
        for d in drafts { encoded.append(try validate(d)) }
        return try await submit(.append(encoded))
    }

    /// Appends one event and returns it once it is durable.
    public func append(_ draft: EventDraft) async throws(LedgerError) -> Event {
        try await append([draft])[0]
    }

    /// Writes a checkpoint (signed tree head over every event so far) now.
    public func checkpoint() async throws(LedgerError) -> Checkpoint {
        let events = try await submit(.checkpoint)
        guard let e = events.last, let cp = Checkpoint(event: e) else {
            throw LedgerError(.corrupt, "checkpoint event was not written")
        }
        return cp
    }

    /// Replaces the signing key: writes `node.key.rotated` (signed by the old key, naming the new
    /// one); later events are signed by the new key, earlier ones keep verifying with the old one.
    public func rotateKey() async throws(LedgerError) -> Event {
        let keys = KeyStore(directory: options.keyDirectory ?? path + "/keys")
        let key = try keys.generate()
        return try await submit(.rotateKey(key))[0]
    }

    private func submit(_ command: WriteCommand) async throws(LedgerError) -> [Event] {
        guard let writer else {
            throw LedgerError(.closed, "the ledger at \(path) is open read-only")
        }
        do {
            return try await writer.submit(command)
        } catch let e as LedgerError {
            throw e
        } catch {
            throw LedgerError.storage(error, "appending")
        }
    }

    /// Checks a draft and encodes its payload; the size bound covers the whole canonical event.
    private func validate(_ d: EventDraft) throws(LedgerError) -> EncodedDraft {
        try EventType.validate(d)
        // In UTF-8, a byte below 0x20 is always a control character of its own.
        func acceptable(_ value: String) -> Bool {
            let count = value.utf8.count
            return count > 0 && count <= 1024 && !CanonicalJSON.containsControlByte(value)
        }
        guard acceptable(d.subject) else { throw LedgerError(.invalidDraft, "subject must be 1–1024 bytes without control characters") }
        guard acceptable(d.actor) else { throw LedgerError(.invalidDraft, "actor must be 1–1024 bytes without control characters") }
        guard case .object = d.payload else {
            throw LedgerError(.invalidDraft, "the payload of \(d.type) must be a JSON object")
        }
        let encoded = EncodedDraft(d)
        let size = encoded.bodySizeBound
        guard size <= options.maxEventBytes else {
            throw LedgerError(.eventTooLarge,
                "a \(d.type) event of about \(size) bytes exceeds the limit of \(options.maxEventBytes); put bulk content in the blob store and reference it by hash")
        }
        return encoded
    }

    // MARK: reading

    /// Where the ledger stands: last durable seq, its hash, and the newest checkpoint.
    public func head() throws(LedgerError) -> LedgerHead {
        try read { txn in
            let h = try store.storedHead(txn)
            return LedgerHead(seq: h?.seq ?? 0, hash: h?.hash ?? .zero, checkpoint: try store.latestCheckpoint(txn))
        }
    }

    /// The event with `seq`, or nil when there is none.
    public func event(_ seq: UInt64) throws(LedgerError) -> Event? {
        try read { try store.event($0, seq: seq) }
    }

    /// Up to `limit` events from `seq` on, in order.
    public func events(from seq: UInt64, limit: Int) throws(LedgerError) -> [Event] {
        try read { try store.events($0, from: max(seq, 1), limit: limit) }
    }

    /// Stored events from `seq` on, then live appends as they become durable.
    public func subscribe(from seq: UInt64, pageSize: Int = 256) -> LedgerSubscription {
        LedgerSubscription(ledger: self, from: seq, pageSize: pageSize)
    }

    /// Waits until the durable head is beyond `seq` (at once when it already is) and returns it.
    /// Without a writer in this process (another process appends), looks again every 100 ms.
    /// Throws on cancellation and when the ledger is closed.
    public func waitForHead(after seq: UInt64) async throws -> UInt64 {
        if writer != nil { return try await broadcaster.wait(after: seq) }
        while true {
            let head = try durableHead()
            if head > seq { return head }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// The last durable seq: from the writer in this process (no I/O), or from LMDB when another
    /// process writes.
    public func durableHead() throws(LedgerError) -> UInt64 {
        if writer != nil { return broadcaster.head }
        return try read { try store.storedHead($0)?.seq ?? 0 }
    }

    /// Group-commit statistics of this process: transactions and events written, and the
    /// transactions that waited for more appends (``LedgerOptions/commitDelay``).
    public var commitStatistics: (transactions: UInt64, events: UInt64, delayed: UInt64) {
        guard let s = writer?.statistics else { return (0, 0, 0) }
        return (s.commits, s.events, s.delayed)
    }

    func read<T>(_ body: (LMDBTransaction) throws -> T) throws(LedgerError) -> T {
        do {
            return try store.env.read(body)
        } catch let e as LedgerError {
            throw e
        } catch {
            throw LedgerError.storage(error, "reading the ledger")
        }
    }
}
