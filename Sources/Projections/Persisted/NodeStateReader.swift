package import Ledger

/// Reads of the node's working state (``NodeStateProjection``) inside one snapshot of its
/// storage, by key: a message, a dispatch, an inbound AS4 MessageId, a submission, organisations
/// of the address book, and the small working sets (pending dispatches, unanswered messages). No
/// read loads the whole state, so what the node holds in memory does not grow with its history.
package struct NodeStateReader {
    let rows: any ProjectionReading
    private typealias Table = NodeStateProjection.Table

    package init(_ rows: any ProjectionReading) { self.rows = rows }

    private func get(_ table: String, _ key: String) throws -> [UInt8]? {
        try rows.get("node." + table, ProjectionKey.of(key))
    }

    package func message(_ id: String) throws -> MessageRecord? {
        try get(Table.messages, id).map { try MessageRecord(row: $0) }
    }

    package func dispatch(_ as4MessageId: String) throws -> DispatchRecord? {
        try get(Table.dispatches, as4MessageId).map { try DispatchRecord(row: RecordCoding.decode($0, "dispatch")) }
    }

    /// What the node knows about an inbound AS4 MessageId (stored, and the receipt answered).
    package func inbound(_ as4MessageId: String) throws -> NodeProjection.Inbound? {
        try get(Table.inbound, as4MessageId).map { try PersistedNodeRows.inbound($0).1 }
    }

    /// The message a submission request became, if it was submitted.
    package func submission(_ submissionID: String) throws -> String? {
        try get(Table.submissions, submissionID).map { v in
            guard let m = try RecordCoding.decode(v, "submission")["message_id"]?.stringValue else { throw RecordCoding.corrupt("submission") }
            return m
        }
    }

    /// The seq of the first `blob.erased` event of `blob`, if it was erased.
    package func erasure(of blob: Digest32) throws -> UInt64? {
        try rows.get("node." + Table.erasures, blob.bytes).map(EventIndex.uint64)
    }

    /// The address book restricted to `participants` (the organisations a step needs).
    package func addressBook(participants: some Sequence<String>) throws -> AddressBook {
        var organizations: [String: AddressBook.Organization] = [:]
        for p in Set(participants) {
            if let v = try get(Table.organizations, p) { organizations[p] = try AddressBook.Organization(row: RecordCoding.decode(v, "address book")) }
        }
        return AddressBook(organizations: organizations)
    }

    /// The whole address book.
    package func addressBook() throws -> AddressBook {
        var organizations: [String: AddressBook.Organization] = [:]
        try rows.scan("node." + Table.organizations, from: nil) { _, v in
            let o = try AddressBook.Organization(row: RecordCoding.decode(v, "address book"))
            organizations[o.participant] = o
            return true
        }
        return AddressBook(organizations: organizations)
    }

    /// Inbound messages stored but not yet answered with a Meddelandekvittens, oldest first;
    /// messages whose id `skipping` names are left out before their rows are decoded.
    package func unanswered(skipping: (String) -> Bool = { _ in false }) throws -> [MessageRecord] {
        try workingSet(Table.unanswered).filter { !skipping($0) }.compactMap(message)
            .sorted { ($0.eventSeqs.first ?? 0) < ($1.eventSeqs.first ?? 0) }
    }

    /// Dispatches whose next attempt is due at `now`, oldest first. Reads only the rows of the
    /// `due` index up to `now`: the cost follows what is due, not the backlog. Dispatches whose
    /// AS4 MessageId `skipping` names are left out before their rows are decoded.
    package func dueDispatches(at now: Timestamp, skipping: (String) -> Bool = { _ in false }) throws -> [DispatchRecord] {
        let limit = PersistedNodeRows.dueKey(UInt64(max(0, now.nanoseconds)) + 1)
        var ids: [String] = []
        try rows.scan("node." + Table.due, from: nil) { key, value in
            guard Array(key.prefix(8)).lexicographicallyPrecedes(limit) || Array(key.prefix(8)) == limit else { return false }
            ids.append(String(decoding: value, as: UTF8.self))
            return true
        }
        return try ids.filter { !skipping($0) }.compactMap(dispatch).filter { $0.isDue(at: now) }.sorted { $0.createdSeq < $1.createdSeq }
    }

    /// Every dispatch still pending (waiting for its next attempt, or under way), oldest first.
    package func pendingDispatches() throws -> [DispatchRecord] {
        try workingSet(Table.pending).compactMap(dispatch).sorted { $0.createdSeq < $1.createdSeq }
    }

    /// The identifiers in a working-set table (values are the identifiers; keys may be hashes).
    private func workingSet(_ table: String) throws -> [String] {
        var ids: [String] = []
        try rows.scan("node." + table, from: nil) { _, v in ids.append(String(decoding: v, as: UTF8.self)); return true }
        return ids
    }

    /// Inbound messages refused at the AS4 layer, in seq order.
    package func rejections() throws -> [NodeProjection.Rejection] {
        var out: [NodeProjection.Rejection] = []
        try rows.scan("node." + Table.rejections, from: nil) { _, v in out.append(try PersistedNodeRows.rejection(v)); return true }
        return out
    }
}

extension ProjectionEngine {
    /// Runs `body` on the node's working state as of the ledger's durable head: applies what the
    /// projections have not seen yet (so a caller sees its own appends), then reads one snapshot.
    /// Fails closed when the snapshot is behind what was caught up to — another process reset the
    /// store in between (`kvitto projections rebuild`): an empty state would, for one, let a resent
    /// message through duplicate detection. The caller retries once the rebuild has caught up.
    package func currentNodeState<T>(_ body: (NodeStateReader) throws -> T) throws -> T {
        try currentNodeState { reader, _ in try body(reader) }
    }

    /// ``currentNodeState(_:)``, also passing the ledger position the snapshot reflects.
    package func currentNodeState<T>(_ body: (NodeStateReader, UInt64) throws -> T) throws -> T {
        let reached = try catchUp()
        return try storage.read { r in
            var seq = reached
            if let node = projections.first(where: { $0 is NodeStateProjection }) {
                seq = try Self.position(of: node, in: r).seq
                if seq < reached {
                    throw LedgerError(.storage, "the node's projections were reset while being read (is `kvitto projections rebuild` running?); the step is retried once they have caught up")
                }
            }
            return try body(NodeStateReader(r), seq)
        }
    }

    /// The whole working state, as a ``NodeProjection`` (tests and tools: it loads every row).
    package func nodeStateSnapshot() throws -> NodeProjection {
        let seq = try catchUp()
        return try NodeStateProjection.load(from: storage, seq: seq)
    }
}
