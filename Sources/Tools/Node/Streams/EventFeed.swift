package import Ledger
package import Projections
import Synchronization

/// The events every stream subscriber reads, prepared once (``StreamEvent``) and shared: one
/// task follows the ledger (``run()``) and keeps the most recent ``capacity`` entries in a
/// window; a subscriber at or near the head reads from the window, one further behind reads the
/// ledger itself from its own position (``events(after:limit:)``), so a consumer far behind
/// simply catches up and a stalled one holds nothing — the window does not grow with it.
///
/// Entries are prepared after the persisted projections have applied their events, so the
/// message and mailbox of every event are known.
package final class EventFeed: Sendable {
    /// What one step of ``run()`` prepared: the entries of seqs `from...through`, in order. Never
    /// changed once made, so a subscriber's page is a slice of it (its storage shared, nothing copied).
    private struct Chunk {
        var entries: [StreamEvent]
        var from: UInt64
        var through: UInt64
    }

    private struct Window {
        /// Chunks in seq order inside `coveredFrom...coveredTo`; the seqs outside every chunk hold
        /// no entry.
        var chunks: [Chunk] = []
        var coveredFrom: UInt64
        var coveredTo: UInt64
        /// Entries in all the chunks.
        var count = 0

        mutating func add(_ chunk: Chunk, capacity: Int) {
            coveredTo = chunk.through
            // A page with nothing to publish widens the last chunk (handed-out slices keep theirs).
            if chunk.entries.isEmpty {
                if !chunks.isEmpty { chunks[chunks.count - 1].through = chunk.through }
                return
            }
            chunks.append(chunk)
            count += chunk.entries.count
            // The oldest chunks go once the rest hold the capacity.
            var drop = 0
            while drop < chunks.count - 1, count - chunks[drop].entries.count >= capacity {
                count -= chunks[drop].entries.count
                drop += 1
            }
            if drop > 0 {
                chunks.removeFirst(drop)
                coveredFrom = chunks[0].from
            }
        }
    }

    private let ledger: Ledger
    private let projections: ProjectionEngine
    /// The CloudEvents `source` of every event.
    package let source: String
    private let window: Mutex<Window>
    /// The last seq the window covers.
    private let covered: HeadBroadcaster

    /// Entries kept in memory by default; a subscriber further behind reads the ledger.
    package static let defaultCapacity = 8192
    /// Entries kept in memory.
    private let capacity: Int
    /// Events read from the ledger per step.
    static let page = 512

    /// A feed whose window starts `backfill` events before the ledger's durable head (so the
    /// subscribers that reconnect after a restart, slightly behind, share it); ``run()`` prepares
    /// those first. Earlier events are read from the ledger.
    package init(ledger: Ledger, projections: ProjectionEngine, source: String, capacity: Int = defaultCapacity,
                 backfill: UInt64 = 4096) throws(LedgerError) {
        self.capacity = max(1, capacity)
        self.ledger = ledger
        self.projections = projections
        self.source = source
        let head = try ledger.durableHead()
        let start = head > backfill ? head - backfill : 0
        window = Mutex(Window(coveredFrom: start + 1, coveredTo: start))
        covered = HeadBroadcaster(head: start)
    }

    /// The CloudEvents `source` of a node named `name`: `urn:kvitto:node:` and the name, percent-encoded.
    package static func source(forNode name: String) -> String {
        "urn:kvitto:node:" + StreamEvent.percentEncoded(name)
    }

    /// The last seq the feed has prepared.
    package var head: UInt64 { covered.head }

    /// Follows the ledger until the task is cancelled (or the ledger closes), preparing each page
    /// of new events once the projections have applied it. A storage error is retried after a
    /// second; subscribers wait meanwhile.
    package func run() async {
        defer { covered.close() }
        while !Task.isCancelled {
            do {
                let at = covered.head
                _ = try await ledger.waitForHead(after: at)
                let prepared = try prepare(from: at + 1)
                guard prepared.through > at else {
                    // The projections are catching up (prepare drives them a page at a time).
                    await Task.yield()
                    continue
                }
                window.withLock { $0.add(Chunk(entries: Array(prepared.entries), from: at + 1, through: prepared.through), capacity: capacity) }
                covered.publish(prepared.through)
            } catch {
                if Task.isCancelled { return }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
    }

    /// Up to `limit` entries after `seq`, and the seq they cover up to (equal to `seq` when there
    /// is nothing new yet). Reads the ledger when `seq` is older than the window. The entries are
    /// a slice of what the feed holds, shared by every subscriber reading them.
    package func events(after seq: UInt64, limit: Int = 1024) throws -> (entries: ArraySlice<StreamEvent>, through: UInt64) {
        let limit = max(1, limit)
        let held: (entries: ArraySlice<StreamEvent>, through: UInt64)? = window.withLock { w in
            guard seq + 1 >= w.coveredFrom else { return nil }
            guard seq < w.coveredTo else { return ([], max(seq, w.coveredTo)) }
            // The chunk covering seq + 1 (chunks are in seq order, without gaps).
            var low = 0, high = w.chunks.count
            while low < high {
                let mid = (low + high) / 2
                if w.chunks[mid].through <= seq { low = mid + 1 } else { high = mid }
            }
            while low < w.chunks.count {
                let chunk = w.chunks[low]
                // Its first entry after seq.
                var first = 0, last = chunk.entries.count
                while first < last {
                    let mid = (first + last) / 2
                    if chunk.entries[mid].seq <= seq { first = mid + 1 } else { last = mid }
                }
                let end = min(chunk.entries.count, first + limit)
                if first < end {
                    let slice = chunk.entries[first..<end]
                    return (slice, end == chunk.entries.count ? chunk.through : slice[slice.endIndex - 1].seq)
                }
                // Nothing to hand out in this chunk after seq: on to the next.
                low += 1
            }
            // Nothing after seq up to the window's end.
            return ([], w.coveredTo)
        }
        if let held { return held }
        return try prepare(from: seq + 1, limit: limit)
    }

    /// Returns once the feed has prepared beyond `seq`; throws when the task is cancelled or the
    /// feed stops.
    package func wait(after seq: UInt64) async throws -> UInt64 {
        try await covered.wait(after: seq)
    }

    /// Prepares at most a page of the ledger from `seq`, no further than the projections have
    /// applied (caught up first): the entries and the last seq read.
    private func prepare(from seq: UInt64, limit: Int = EventFeed.page) throws -> (entries: ArraySlice<StreamEvent>, through: UInt64) {
        // A page at a time: a long catch-up (after a rebuild) never holds a thread for long.
        let applied = try projections.catchUp(limit: Self.page)
        guard applied >= seq else { return ([], seq - 1) }
        let page = try ledger.events(from: seq, limit: Int(min(UInt64(min(limit, Self.page)), applied - seq + 1)))
        guard let last = page.last else { return ([], seq - 1) }
        var out: [StreamEvent] = []
        try projections.storage.read { r in
            let reader = NodeStateReader(r)
            for e in page {
                if let s = try StreamEvent.prepare(e, source: source, message: { try reader.message($0) }) { out.append(s) }
            }
        }
        return (out[...], last.seq)
    }
}
