package import Ledger

/// Every event by type, by actor and by subject, in seq order: the trace of a message (its
/// subject), the access log of an identity (its actor) and the audit by event type, each a range
/// scan. Rows are keys only (`<value> 0x00 <seq, 8 bytes big-endian>`), so the index holds no
/// payload: what an event says is read from the ledger by seq, under the reader's rights. It also
/// counts events per type (for status and metrics).
package struct EventIndex: PersistedProjection {
    package let name = "events"
    package let version = 1
    package let tables = [Self.byType, Self.byActor, Self.bySubject, Self.counts]

    static let byType = "by_type"
    static let byActor = "by_actor"
    static let bySubject = "by_subject"
    static let counts = "counts"

    package init() {}

    package func apply(_ event: Event, to rows: ProjectionRows) throws {
        let type = Array(event.type.utf8)
        try rows.put(Self.byType, Self.key(event.type, event.seq), [])
        try rows.put(Self.byActor, Self.key(event.actor, event.seq), type)
        if !event.subject.isEmpty { try rows.put(Self.bySubject, Self.key(event.subject, event.seq), type) }
        let n = try rows.get(Self.counts, ProjectionKey.of(event.type)).map(Self.uint64) ?? 0
        try rows.put(Self.counts, ProjectionKey.of(event.type), withUnsafeBytes(of: (n + 1).bigEndian) { Array($0) })
    }

    /// Events per type.
    package static func counts(in storage: any ProjectionStorage) throws -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        try storage.read { r in
            try r.scan("events." + counts, from: nil) { k, v in
                out[String(decoding: k, as: UTF8.self)] = uint64(v)
                return true
            }
        }
        return out
    }

    static func uint64(_ bytes: [UInt8]) -> UInt64 { bytes.suffix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// What to look up.
    package enum Lookup: Sendable, Equatable {
        case type(String)
        case actor(String)
        case subject(String)
    }

    /// Seqs of the events matching `lookup` with `after < seq <= upTo`, in seq order, at most `limit`.
    package static func seqs(_ lookup: Lookup, after: UInt64 = 0, upTo: UInt64 = .max, limit: Int = 1000,
                             in storage: any ProjectionStorage) throws -> [UInt64] {
        let (table, value): (String, String) = switch lookup {
        case .type(let t): (byType, t)
        case .actor(let a): (byActor, a)
        case .subject(let s): (bySubject, s)
        }
        return try seqs(of: value, in: "events." + table, after: after, upTo: upTo, limit: limit, storage: storage)
    }

    /// Every seq of an event of one of `types` at or before `upTo`, in seq order, read a page
    /// at a time (for the few kinds of event a node folds again on demand: participants,
    /// certificates, the address book as of a position).
    package static func allSeqs(ofTypes types: [String], upTo: UInt64 = .max, in storage: any ProjectionStorage) throws -> [UInt64] {
        var seqs: [UInt64] = []
        for type in types {
            var after: UInt64 = 0
            while true {
                let found = try self.seqs(.type(type), after: after, upTo: upTo, limit: 1000, in: storage)
                seqs += found
                guard found.count == 1000, let last = found.last else { break }
                after = last
            }
        }
        return types.count > 1 ? seqs.sorted() : seqs
    }

    /// Seqs in the `value 0x00 seq` rows of `table` (a full table name) with `after < seq <= upTo`,
    /// in seq order, at most `limit`: the scan of every keys-only seq index.
    static func seqs(of value: String, in table: String, after: UInt64, upTo: UInt64, limit: Int,
                     storage: any ProjectionStorage) throws -> [UInt64] {
        let prefix = ProjectionKey.of(value) + [0]
        var out: [UInt64] = []
        try storage.read { r in
            try r.scan(table, from: key(value, after + 1)) { k, _ in
                guard k.starts(with: prefix) else { return false }
                guard k.count == prefix.count + 8 else { return true }  // a longer value with this prefix
                let seq = uint64(Array(k[prefix.count...]))
                guard seq <= upTo else { return false }
                out.append(seq)
                return out.count < limit
            }
        }
        return out
    }

    /// `value 0x00 seq` (seq big-endian, so keys of one value sort by seq; a long value is
    /// hashed, see ``ProjectionKey``). Keys of one value all have the same length, so a longer
    /// value that starts the same is told apart.
    static func key(_ value: String, _ seq: UInt64) -> [UInt8] {
        ProjectionKey.of(value) + [0] + withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }
}
