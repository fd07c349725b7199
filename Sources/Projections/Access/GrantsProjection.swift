package import Ledger

/// Every grant ever made, with its revocation if any (rows keyed by grant id = the seq of its
/// `access.granted`), indexed by grantee and by participant. Grants are never removed, so the
/// rights at any past ledger position are answered from the same rows (``Grant/isEffective``).
package struct GrantsProjection: PersistedProjection {
    package let name = "grants"
    package let version = 1
    package let tables = [Table.grants, Table.byGrantee, Table.byParticipant]

    enum Table {
        static let grants = "grants"
        static let byGrantee = "by_grantee"
        static let byParticipant = "by_participant"
    }

    /// The `by_participant` key of node-scope grants (a participant id never starts with `*`).
    static let nodeKey = "*"

    package init() {}

    package func apply(_ event: Event, to rows: ProjectionRows) throws {
        switch event.type {
        case AccessEventType.granted:
            guard let g = Grant(granted: event) else { return }
            try rows.put(Table.grants, Self.id(g.id), RecordCoding.encode(g.json))
            try rows.put(Table.byGrantee, Self.index(g.grantee.description, g.id), [])
            try rows.put(Table.byParticipant, Self.index(g.scope.participant ?? Self.nodeKey, g.id), [])
        case AccessEventType.revoked:
            guard let id = event.payload["grant"]?.intValue, id > 0,
                  let bytes = try rows.get(Table.grants, Self.id(UInt64(id))) else { return }
            var g = try Grant(row: RecordCoding.decode(bytes, "grant"))
            guard g.revocation == nil else { return }
            g.revocation = .init(seq: event.seq, by: event.actor, at: event.time, reason: event.payload["reason"]?.stringValue ?? "")
            try rows.put(Table.grants, Self.id(g.id), RecordCoding.encode(g.json))
        default:
            return
        }
    }

    // MARK: Reading

    /// One grant by id.
    package static func grant(_ id: UInt64, in storage: any ProjectionStorage) throws -> Grant? {
        try storage.read { r in try get(id, r) }
    }

    /// Every grant (revoked ones included) to any of `names`, by id.
    package static func grants(to names: [PrincipalName], in storage: any ProjectionStorage) throws -> [Grant] {
        try storage.read { r in
            var out: [Grant] = []
            for n in Set(names) {
                try ids(Table.byGrantee, n.description, r) { if let g = try get($0, r) { out.append(g) } }
            }
            return out.sorted { $0.id < $1.id }
        }
    }

    /// Every grant on `participant` or inside it (`nil`: node-scope grants), by id.
    package static func grants(participant: String?, in storage: any ProjectionStorage) throws -> [Grant] {
        try storage.read { r in
            var out: [Grant] = []
            try ids(Table.byParticipant, participant ?? nodeKey, r) { if let g = try get($0, r) { out.append(g) } }
            return out
        }
    }

    /// Every grant, by id.
    package static func all(in storage: any ProjectionStorage) throws -> [Grant] {
        try storage.read { r in
            var out: [Grant] = []
            try r.scan("grants." + Table.grants, from: nil) { _, v in
                out.append(try Grant(row: RecordCoding.decode(v, "grant")))
                return true
            }
            return out
        }
    }

    private static func get(_ id: UInt64, _ r: any ProjectionReading) throws -> Grant? {
        try r.get("grants." + Table.grants, Self.id(id)).map { try Grant(row: RecordCoding.decode($0, "grant")) }
    }

    private static func ids(_ table: String, _ value: String, _ r: any ProjectionReading, _ body: (UInt64) throws -> Void) throws {
        let prefix = ProjectionKey.of(value) + [0]
        try r.scan("grants." + table, prefix: prefix) { k, _ in
            if k.count == prefix.count + 8 { try body(EventIndex.uint64(k)) }
            return true
        }
    }

    static func id(_ n: UInt64) -> [UInt8] { withUnsafeBytes(of: n.bigEndian) { Array($0) } }
    static func index(_ value: String, _ id: UInt64) -> [UInt8] { ProjectionKey.of(value) + [0] + Self.id(id) }
}
