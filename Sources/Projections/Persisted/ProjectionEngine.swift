import Crypto
package import Ledger
import Synchronization

/// Folds a ledger into ``PersistedProjection``s kept in ``ProjectionStorage``.
///
/// Each transaction applies a batch of events to every projection that has not seen them and
/// stores, in the same transaction, each projection's last applied seq in the `projections.meta`
/// table. So a process killed at any moment leaves every projection exactly as of some seq; the
/// next ``catchUp(batch:)`` (in this process or another) goes on from there, and a start costs
/// the events appended since, not the length of the history.
package final class ProjectionEngine: Sendable {
    /// The table holding each projection's version and last applied seq.
    package static let metaTable = "projections.meta"

    package let ledger: Ledger
    package let storage: any ProjectionStorage
    package let projections: [any PersistedProjection]
    /// One catch-up at a time in this process (other processes are serialised by the storage's
    /// write transactions, and each transaction re-reads where every projection stands).
    private let catchingUp = Mutex(())
    private let transactions = Atomic<UInt64>(0)

    /// Write transactions the catch-ups of this process committed (for benchmarks).
    package var catchUpTransactions: UInt64 { transactions.load(ordering: .relaxed) }

    /// Every table `projections` need, for opening a store.
    package static func tables(for projections: [any PersistedProjection]) -> [String] {
        [metaTable] + projections.flatMap(\.storedTables)
    }

    /// Opens the engine; a projection stored with another version than its fold's is cleared, to
    /// be rebuilt by the next catch-up.
    package init(ledger: Ledger, storage: any ProjectionStorage, projections: [any PersistedProjection]) throws {
        let names = projections.map(\.name)
        guard Set(names).count == names.count else {
            throw LedgerError(.invalidDraft, "two projections share a name: \(names)")
        }
        self.ledger = ledger
        self.storage = storage
        self.projections = projections
        // Rows folded from another ledger, or from a later state of this one (the ledger was
        // restored from a backup), are not this ledger's: every projection starts again.
        let identity = try ledger.event(1).map { Array($0.hash.bytes) }
        let head = try ledger.durableHead()
        let stored = try storage.read { try $0.get(Self.metaTable, Self.ledgerKey) }
        let ahead = try projections.contains { try position(of: $0).seq > head }
        if let identity, (stored != nil && stored != identity) || ahead {
            for p in projections { try reset(p) }
        }
        if let identity, stored != identity {
            try storage.write { try $0.put(Self.metaTable, Self.ledgerKey, identity) }
        }
        for p in projections {
            if try position(of: p).version != UInt64(p.version) { try reset(p) }
        }
    }

    /// The meta key holding the hash of the ledger's first event (which ledger the rows are of).
    private static let ledgerKey = Array("\u{0}ledger".utf8)

    /// Where one projection stands.
    package struct Status: Sendable, Equatable {
        package var name: String
        package var version: Int
        package var appliedSeq: UInt64
        /// Rows per table.
        package var rows: [String: Int]
    }

    /// Every projection's version, last applied seq and row counts.
    package func status() throws -> [Status] {
        try storage.read { r in
            try projections.map { p in
                let at = try Self.position(of: p, in: r)
                var rows: [String: Int] = [:]
                for t in p.tables { rows[t] = try r.count(p.name + "." + t) }
                return Status(name: p.name, version: Int(at.version), appliedSeq: at.seq, rows: rows)
            }
        }
    }

    /// Applies every event durable in the ledger and not yet applied (at most `limit` of them),
    /// `batch` events per transaction; returns the seq every projection has reached.
    @discardableResult
    package func catchUp(batch: Int = 1024, limit: Int = .max) throws -> UInt64 {
        try catchingUp.withLock { _ in
            let from = try lowestApplied()
            let head = try ledger.durableHead()
            let target = head > from ? from + UInt64(min(Int(head - from), limit)) : head
            var reached = from
            // Every round applies at least one event or finds another process did: bounded by the
            // events to apply, plus as many rounds again in case a rebuild elsewhere resets us.
            var rounds = 0
            let maxRounds = 2 * (Int(target - min(reached, target)) / max(1, batch) + 2)
            while reached < target {
                rounds += 1
                guard rounds <= maxRounds else {
                    throw LedgerError(.storage, "projections did not reach seq \(target) (at \(reached)); another process may be rebuilding them")
                }
                let page = try ledger.events(from: reached + 1, limit: min(batch, Int(target - reached)))
                guard !page.isEmpty else {
                    throw LedgerError(.corrupt, "event \(reached + 1) is below the durable head but missing; run `kvitto ledger verify`")
                }
                reached = try storage.write { w in
                    var lowest = UInt64.max
                    for p in projections {
                        var at = try Self.position(of: p, in: w)
                        guard at.version == UInt64(p.version) else {
                            // Another build reset it to its own fold: never mix two folds in one projection.
                            throw LedgerError(.unsupportedFormat, "projection \(p.name) is stored at fold version \(at.version); this build folds version \(p.version); rebuild it with the build that serves the node (`kvitto projections rebuild`)")
                        }
                        let rows = ProjectionRows(writer: w, prefix: p.name + ".")
                        for e in page where e.seq == at.seq + 1 {
                            try p.apply(e, to: rows)
                            at.seq = e.seq
                        }
                        try w.put(Self.metaTable, Array(p.name.utf8), Self.encode(version: UInt64(p.version), seq: at.seq))
                        lowest = min(lowest, at.seq)
                    }
                    return lowest
                }
                transactions.add(1, ordering: .relaxed)
            }
            return reached
        }
    }

    /// Events per transaction when rebuilding: rows touched by many events of one transaction are
    /// written (and synced) once, so larger transactions write far less.
    package static let rebuildBatch = 8192

    /// Clears `names` (all when nil) and folds the ledger into them again from seq 1.
    package func rebuild(_ names: [String]? = nil) throws {
        try clear(names)
        try catchUp(batch: Self.rebuildBatch)
    }

    /// Empties projections (default: all) and sets them back to seq 0 without folding anything:
    /// the first half of ``rebuild(_:)``, which readers in other processes see until the second
    /// half has folded the ledger again.
    package func clear(_ names: [String]? = nil) throws {
        let chosen = try select(names)
        try catchingUp.withLock { _ in
            for p in chosen { try reset(p) }
        }
    }

    /// SHA-256 over one projection's rows (every table in order, every key and value with its
    /// length), with the seq it is at: equal digests at equal seqs mean equal projections.
    package func digest(_ name: String) throws -> (seq: UInt64, sha256: String) {
        guard let p = projections.first(where: { $0.name == name }) else {
            throw LedgerError(.invalidDraft, "no projection named \(name); there are \(projections.map(\.name).joined(separator: ", "))")
        }
        return try storage.read { r in
            var hash = SHA256()
            func length(_ n: Int) { withUnsafeBytes(of: UInt32(n).bigEndian) { hash.update(bufferPointer: $0) } }
            for t in p.tables.sorted() {
                length(t.utf8.count)
                hash.update(data: Array(t.utf8))
                try r.scan(p.name + "." + t, from: nil) { k, v in
                    length(k.count)
                    hash.update(data: k)
                    length(v.count)
                    hash.update(data: v)
                    return true
                }
            }
            return (try Self.position(of: p, in: r).seq, Hex.encode(hash.finalize()))
        }
    }

    // MARK: - Positions

    /// The last applied seq of every projection stored in `storage` (by name), read without a
    /// ledger: for watching a store another process keeps.
    package static func appliedSeqs(in storage: any ProjectionStorage, of projections: [any PersistedProjection]) throws -> [String: UInt64] {
        try storage.read { r in
            var out: [String: UInt64] = [:]
            for p in projections { out[p.name] = try position(of: p, in: r).seq }
            return out
        }
    }

    private func select(_ names: [String]?) throws -> [any PersistedProjection] {
        guard let names else { return projections }
        return try names.map { n in
            guard let p = projections.first(where: { $0.name == n }) else {
                throw LedgerError(.invalidDraft, "no projection named \(n); there are \(projections.map(\.name).joined(separator: ", "))")
            }
            return p
        }
    }

    /// The lowest seq every projection has applied (a rebuild in another process sets it back).
    package func lowestApplied() throws -> UInt64 {
        try storage.read { r in try projections.map { try Self.position(of: $0, in: r).seq }.min() ?? 0 }
    }

    private func position(of p: any PersistedProjection) throws -> (version: UInt64, seq: UInt64) {
        try storage.read { try Self.position(of: p, in: $0) }
    }

    static func position(of p: any PersistedProjection, in r: any ProjectionReading) throws -> (version: UInt64, seq: UInt64) {
        guard let v = try r.get(metaTable, Array(p.name.utf8)) else { return (UInt64(p.version), 0) }
        guard v.count == 16 else { throw LedgerError(.corrupt, "the stored position of projection \(p.name) is damaged; rebuild it") }
        func be(_ at: Int) -> UInt64 { v[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        return (be(0), be(8))
    }

    private static func encode(version: UInt64, seq: UInt64) -> [UInt8] {
        withUnsafeBytes(of: version.bigEndian) { Array($0) } + withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }

    /// Empties a projection's tables and sets it at seq 0 with its current version.
    private func reset(_ p: any PersistedProjection) throws {
        try storage.write { w in
            for t in p.storedTables { try w.clear(t) }
            try w.put(Self.metaTable, Array(p.name.utf8), Self.encode(version: UInt64(p.version), seq: 0))
        }
    }
}
