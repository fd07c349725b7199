package import Ledger

/// The node's working state (``NodeProjection``: mailboxes, the retry schedule, inbound
/// duplicates and receipt correlation, refusals, erasures, the address book) as persisted rows,
/// with the mailbox index (``MailboxIndex``), the audit index (``AuditIndex``) and who read what
/// (``ReadMarks``),
/// folded by the same ``NodeFold`` as the in-memory one, so both hold the same state by
/// construction. Rows are canonical JSON, message records binary (see `RecordCoding`), keyed by message id, AS4
/// MessageId, participant, blob hash or seq.
package struct NodeStateProjection: PersistedProjection {
    package let name = "node"
    package let version = 12
    package let tables = [Table.messages, Table.dispatches, Table.inbound, Table.pending, Table.due, Table.unanswered,
                          Table.rejections, Table.submissions, Table.erasures, Table.organizations,
                          MailboxIndex.mailboxTable, MailboxIndex.termsTable, MailboxIndex.conversationsTable, AuditIndex.table, ReadMarks.table]

    enum Table {
        static let messages = "messages"
        static let dispatches = "dispatches"
        static let inbound = "inbound"
        static let pending = "pending"
        /// Pending dispatches by when they are due (``dueKey(_:)``), so the scheduler reads only
        /// those due instead of decoding every pending one at each wake-up.
        static let due = "due"
        static let unanswered = "unanswered"
        static let rejections = "rejections"
        static let submissions = "submissions"
        static let erasures = "erasures"
        static let organizations = "organizations"
    }

    package init() {}

    package func apply(_ event: Event, to rows: ProjectionRows) throws {
        var persisted = PersistedNodeRows(rows: rows)
        let id = event.subject.hasPrefix("message:") ? String(event.subject.dropFirst("message:".count)) : nil
        let before = try id.flatMap(persisted.message)
        try NodeFold.apply(event, to: &persisted)
        try AuditIndex.index(event, owner: AuditOwner.of(event, message: persisted.message), rows: rows)
        if event.type == AccessEventType.accessed, let id { try ReadMarks.mark(event, message: id, rows: rows) }
        // A message refiled to another mailbox takes its earlier events along.
        if let before, let id, let after = try persisted.message(id), before.participant == after.participant, before.mailbox != after.mailbox {
            try AuditIndex.move(before.eventSeqs.filter { $0 < event.seq }, from: before.mailbox,
                                to: after.mailbox?.participant == after.participant ? after.mailbox : nil, rows: rows)
        }
    }

    /// One message's record, as of the projection's seq.
    package static func message(_ id: String, in storage: any ProjectionStorage) throws -> MessageRecord? {
        try storage.read { try NodeStateReader($0).message(id) }
    }

    /// The records of `ids` that exist, in the order of `ids`, read in one transaction (a
    /// mailbox page).
    package static func messages(_ ids: [String], in storage: any ProjectionStorage) throws -> [MessageRecord] {
        try storage.read { r in
            let reader = NodeStateReader(r)
            return try ids.compactMap { try reader.message($0) }
        }
    }

    /// Every message record for which `include` is true, in key (message id) order.
    package static func messages(in storage: any ProjectionStorage, where include: (MessageRecord) -> Bool) throws -> [MessageRecord] {
        try storage.read { r in
            var out: [MessageRecord] = []
            try r.scan("node." + Table.messages, from: nil) { _, v in
                let m = try MessageRecord(row: v)
                if include(m) { out.append(m) }
                return true
            }
            return out
        }
    }

    /// The seq of the `blob.erased` event of `blob`, if it was erased.
    package static func erasure(of blob: Digest32, in storage: any ProjectionStorage) throws -> UInt64? {
        try storage.read { try NodeStateReader($0).erasure(of: blob) }
    }

    /// The whole state read back as a ``NodeProjection`` at the projection's seq (for comparing
    /// with the in-memory fold, and for tools; the node itself reads rows by key).
    package static func load(from storage: any ProjectionStorage, seq: UInt64) throws -> NodeProjection {
        try storage.read { r in
            func all(_ table: String, _ body: ([UInt8], [UInt8]) throws -> Void) throws {
                try r.scan("node." + table, from: nil) { k, v in try body(k, v); return true }
            }
            var messages: [String: MessageRecord] = [:], dispatches: [String: DispatchRecord] = [:]
            var inbound: [String: NodeProjection.Inbound] = [:], rejections: [NodeProjection.Rejection] = []
            var pending: Set<String> = [], unanswered: Set<String> = [], submissions: [String: String] = [:]
            var erasures: [Digest32: UInt64] = [:], organizations: [String: AddressBook.Organization] = [:]
            try all(Table.messages) { _, v in
                let m = try MessageRecord(row: v)
                messages[m.id] = m
            }
            try all(Table.dispatches) { _, v in
                let d = try DispatchRecord(row: RecordCoding.decode(v, "dispatch"))
                dispatches[d.as4MessageId] = d
            }
            // Keys may be hashes (``ProjectionKey``): identifiers are read from the values.
            try all(Table.inbound) { _, v in
                let (as4, i) = try PersistedNodeRows.inbound(v)
                inbound[as4] = i
            }
            try all(Table.pending) { _, v in pending.insert(String(decoding: v, as: UTF8.self)) }
            try all(Table.unanswered) { _, v in unanswered.insert(String(decoding: v, as: UTF8.self)) }
            try all(Table.rejections) { _, v in rejections.append(try PersistedNodeRows.rejection(v)) }
            try all(Table.submissions) { _, v in
                let j = try RecordCoding.decode(v, "submission")
                guard let s = j["submission_id"]?.stringValue, let m = j["message_id"]?.stringValue else { throw RecordCoding.corrupt("submission") }
                submissions[s] = m
            }
            try all(Table.erasures) { k, v in
                guard let hash = Digest32(bytes: k) else { throw RecordCoding.corrupt("erasure") }
                erasures[hash] = EventIndex.uint64(v)
            }
            try all(Table.organizations) { _, v in
                let o = try AddressBook.Organization(row: RecordCoding.decode(v, "address book"))
                organizations[o.participant] = o
            }
            return NodeProjection(appliedSeq: seq, messages: messages, dispatches: dispatches, inbound: inbound, rejections: rejections,
                                  addressBook: AddressBook(organizations: organizations), erasures: erasures, pending: pending,
                                  unansweredIDs: unanswered, submissions: submissions)
        }
    }
}

/// ``NodeStateRows`` over one transaction's rows of ``NodeStateProjection``. Records read or
/// written while one event is folded are kept decoded (the fold reads a message or a dispatch
/// several times per event), so each is decoded at most once per event.
struct PersistedNodeRows: NodeStateRows {
    typealias Failure = any Error
    typealias Table = NodeStateProjection.Table
    let rows: ProjectionRows
    private let cache = Cache()

    /// Decoded records of the event being folded (nil values: known absent).
    private final class Cache {
        var messages: [String: MessageRecord?] = [:]
        var dispatches: [String: DispatchRecord?] = [:]
    }

    init(rows: ProjectionRows) { self.rows = rows }

    static func key(_ s: String) -> [UInt8] { ProjectionKey.of(s) }
    static func seq(_ n: UInt64) -> [UInt8] { withUnsafeBytes(of: n.bigEndian) { Array($0) } }

    func message(_ id: String) throws -> MessageRecord? {
        if let known = cache.messages[id] { return known }
        let r = try rows.get(Table.messages, Self.key(id)).map { try MessageRecord(row: $0) }
        cache.messages[id] = .some(r)
        return r
    }
    func putMessage(_ r: MessageRecord) throws {
        let old = try message(r.id)
        guard old != r else { return }
        try MailboxIndex.update(old: old, new: r, rows: rows)
        try rows.put(Table.messages, Self.key(r.id), r.row)
        cache.messages[r.id] = .some(r)
    }

    func dispatch(_ as4MessageId: String) throws -> DispatchRecord? {
        if let known = cache.dispatches[as4MessageId] { return known }
        let d = try rows.get(Table.dispatches, Self.key(as4MessageId)).map { try DispatchRecord(row: RecordCoding.decode($0, "dispatch")) }
        cache.dispatches[as4MessageId] = .some(d)
        return d
    }
    func putDispatch(_ d: DispatchRecord) throws {
        let old = try dispatch(d.as4MessageId)
        guard old != d else { return }
        try rows.put(Table.dispatches, Self.key(d.as4MessageId), RecordCoding.encode(d.row))
        cache.dispatches[d.as4MessageId] = .some(d)
        let (before, after) = (old.flatMap(Self.dueKey), Self.dueKey(d))
        if before != after {
            if let before { try rows.delete(Table.due, before) }
            if let after { try rows.put(Table.due, after, Array(d.as4MessageId.utf8)) }
        }
    }

    /// The `due` row of a dispatch: when it is due (0: now — never attempted, or an attempt cut
    /// off; else its next attempt's time in nanoseconds + 1), its creating seq and its id, so that
    /// keys sort by due time, then age. Nil when it will not be due again (finished, or no retry).
    static func dueKey(_ d: DispatchRecord) -> [UInt8]? {
        guard d.outcome == .pending else { return nil }
        let due: UInt64
        if d.attemptsStarted == 0 || d.attemptsStarted > d.attemptsFinished {
            due = 0
        } else if let next = d.nextAttemptAt {
            due = UInt64(max(0, next.nanoseconds)) + 1
        } else {
            return nil
        }
        return dueKey(due) + withUnsafeBytes(of: d.createdSeq.bigEndian) { Array($0) } + Array(d.as4MessageId.utf8.prefix(400))
    }

    /// The first 8 bytes of a `due` key for a time (see ``dueKey(_:)``).
    static func dueKey(_ due: UInt64) -> [UInt8] { withUnsafeBytes(of: due.bigEndian) { Array($0) } }

    func inbound(_ as4MessageId: String) throws -> NodeProjection.Inbound? {
        try rows.get(Table.inbound, Self.key(as4MessageId)).map { try Self.inbound($0).1 }
    }
    func putInbound(_ as4MessageId: String, _ i: NodeProjection.Inbound) throws {
        try rows.put(Table.inbound, Self.key(as4MessageId),
                     RecordCoding.encode(["as4_message_id": .string(as4MessageId), "message_id": .string(i.messageId),
                                          "receipt": RecordCoding.blob(i.receipt)]))
    }
    static func inbound(_ v: [UInt8]) throws -> (String, NodeProjection.Inbound) {
        let j = try RecordCoding.decode(v, "inbound")
        guard let as4 = j["as4_message_id"]?.stringValue, let id = j["message_id"]?.stringValue else { throw RecordCoding.corrupt("inbound") }
        return (as4, NodeProjection.Inbound(messageId: id, receipt: BlobField.parse(j["receipt"])))
    }

    func setPending(_ as4MessageId: String, _ on: Bool) throws { try mark(Table.pending, as4MessageId, on) }
    func setUnanswered(_ messageId: String, _ on: Bool) throws { try mark(Table.unanswered, messageId, on) }

    /// Puts or deletes a working-set row, writing only when that changes it (an unchanged put
    /// would still copy its page).
    private func mark(_ table: String, _ id: String, _ on: Bool) throws {
        let key = Self.key(id)
        if on {
            if try rows.get(table, key) == nil { try rows.put(table, key, Array(id.utf8)) }
        } else {
            try rows.delete(table, key)
        }
    }

    func addRejection(_ r: NodeProjection.Rejection) throws {
        try rows.put(Table.rejections, Self.seq(r.seq), RecordCoding.encode([
            "seq": .int(Int64(r.seq)), "participant": RecordCoding.optional(r.participant),
            "as4_message_id": RecordCoding.optional(r.as4MessageId), "code": .string(r.code), "detail": .string(r.detail),
        ]))
    }
    static func rejection(_ v: [UInt8]) throws -> NodeProjection.Rejection {
        let j = try RecordCoding.decode(v, "rejection")
        guard let seq = j["seq"]?.intValue, let code = j["code"]?.stringValue else { throw RecordCoding.corrupt("rejection") }
        return NodeProjection.Rejection(seq: UInt64(seq), participant: j["participant"]?.stringValue,
                                        as4MessageId: j["as4_message_id"]?.stringValue, code: code, detail: j["detail"]?.stringValue ?? "")
    }

    func putSubmission(_ submissionID: String, message: String) throws {
        try rows.put(Table.submissions, Self.key(submissionID),
                     RecordCoding.encode(["submission_id": .string(submissionID), "message_id": .string(message)]))
    }

    func erasure(_ blob: Digest32) throws -> UInt64? { try rows.get(Table.erasures, blob.bytes).map(EventIndex.uint64) }
    func putErasure(_ blob: Digest32, seq: UInt64) throws { try rows.put(Table.erasures, blob.bytes, Self.seq(seq)) }

    func applyToAddressBook(_ event: Event) throws {
        guard let participant = event.payload["participant"]?.stringValue else { return }
        var organization = try rows.get(Table.organizations, Self.key(participant))
            .map { try AddressBook.Organization(row: RecordCoding.decode($0, "address book")) }
        AddressBook.apply(event, to: &organization)
        if let organization {
            try rows.put(Table.organizations, Self.key(participant), RecordCoding.encode(organization.row))
        } else {
            try rows.delete(Table.organizations, Self.key(participant))
        }
    }
}
