package import Ledger

/// Each functional mailbox's messages, newest first, and a word index of their subjects and
/// counterparts for search — rows of ``NodeStateProjection``, updated whenever a message record
/// is written, so they hold exactly what the records hold.
///
/// Keys start with the mailbox (``ProjectionKey``) and a zero byte; the seq of the message's first
/// event is stored inverted (`UInt64.max - seq`), so a forward scan reads newest first and a page
/// cursor is simply the last key read.
/// - `mailbox`: `<mailbox> 0 <~seq> <id key>` → the message's listing row
/// - `terms`: `<mailbox> 0 <word> 0 <~seq> <id key>` → id
/// - `conversations`: `<mailbox> 0 <conversation key> 0 <~seq> <id key>` → the listing row
///
/// A listing row (``MessageRecord/listingRow``) holds what a mailbox page shows of the message,
/// so that a page is one scan of the index; it is rewritten whenever any of that changes.
package enum MailboxIndex {
    static let mailboxTable = "mailbox"
    static let termsTable = "terms"
    static let conversationsTable = "conversations"

    /// Words indexed for a message: its subject (label), its reference (case number) and its
    /// counterpart's functional address.
    static func words(of r: MessageRecord) -> [String] {
        SearchText.words([r.label ?? "", r.reference ?? "", counterpart(r)?.description ?? ""].joined(separator: " "))
    }

    private static func counterpart(_ r: MessageRecord) -> FunctionalAddress? { r.direction == .outbound ? r.to : r.from }

    /// Brings the rows of `new` (replacing `old`, if any) up to date.
    static func update(old: MessageRecord?, new: MessageRecord, rows: ProjectionRows) throws {
        // Most events change a record's status or its events, not what it is indexed by.
        if let old, old.id == new.id, old.mailbox == new.mailbox, old.eventSeqs.first == new.eventSeqs.first, old.label == new.label,
           old.reference == new.reference, old.conversation == new.conversation, counterpart(old) == counterpart(new) {
            // The same keys: the listing rows change with the status (or, rarely, the rest of what a page shows).
            guard !MessageRecord.sameListing(old, new) else { return }
            let listing = new.listingRow
            for k in keys(new) where k.table != termsTable { try rows.put(k.table, k.key, listing) }
            return
        }
        let oldKeys = old.map(keys) ?? [], newKeys = keys(new)
        let listing = new.listingRow
        for k in oldKeys where !newKeys.contains(where: { $0 == k }) { try rows.delete(k.table, k.key) }
        for k in newKeys {
            if k.table == termsTable {
                if !oldKeys.contains(where: { $0 == k }) { try rows.put(k.table, k.key, Array(new.id.utf8)) }
            } else {
                try rows.put(k.table, k.key, listing)
            }
        }
    }

    private struct Row: Equatable {
        var table: String
        var key: [UInt8]
    }

    private static func keys(_ r: MessageRecord) -> [Row] {
        guard let mailbox = r.mailbox, let first = r.eventSeqs.first else { return [] }
        let m = prefix(mailbox), tail = inverted(first) + ProjectionKey.of(r.id)
        let conversation = r.conversation.map { [Row(table: conversationsTable, key: m + conversationPrefix($0) + tail)] } ?? []
        return [Row(table: mailboxTable, key: m + tail)] + conversation
            + words(of: r).map { Row(table: termsTable, key: m + Array($0.utf8) + [0] + tail) }
    }

    /// A conversation's part of its keys: the id as a key (``ProjectionKey``: inline bytes, or
    /// 0x01 and a hash — never a zero byte inside an inline id, as ids are checked), then 0.
    static func conversationPrefix(_ conversation: String) -> [UInt8] { ProjectionKey.of(conversation) + [0] }

    static func prefix(_ mailbox: FunctionalAddress) -> [UInt8] { ProjectionKey.of(mailbox.description) + [0] }
    static func inverted(_ seq: UInt64) -> [UInt8] { withUnsafeBytes(of: (UInt64.max - seq).bigEndian) { Array($0) } }

    /// One page of a mailbox, newest first: message ids and the cursor to pass for the next page
    /// (nil at the end).
    /// With `asOf`, only messages whose first event is at or before that seq (the scan starts
    /// there: the keys are ordered by inverted first seq).
    /// With `conversation`, only that conversation's messages.
    package static func page(_ mailbox: FunctionalAddress, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int,
                             asOf: UInt64? = nil, in storage: any ProjectionStorage) throws -> (ids: [String], next: [UInt8]?) {
        try storage.read { r in try page(mailbox, conversation: conversation, after: cursor, limit: limit, asOf: asOf, reading: r) }
    }

    /// ``page(_:conversation:after:limit:asOf:in:)`` inside the caller's read transaction.
    package static func page(_ mailbox: FunctionalAddress, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int,
                             asOf: UInt64? = nil, reading r: any ProjectionReading) throws -> (ids: [String], next: [UInt8]?) {
        var ids: [String] = []
        let next = try entries(mailbox, conversation: conversation, after: cursor, limit: limit, asOf: asOf, reading: r) { id, _ in ids.append(id) }
        return (ids, next)
    }

    /// The entries of one page in order — each message's id and listing row (valid during the
    /// call) — and the cursor of the next page (nil at the end).
    package static func entries(_ mailbox: FunctionalAddress, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int,
                                asOf: UInt64? = nil, reading r: any ProjectionReading,
                                _ entry: (_ id: String, _ listing: [UInt8]) throws -> Void) throws -> [UInt8]? {
        let p = prefix(mailbox) + (conversation.map(conversationPrefix) ?? [])
        let table = conversation == nil ? mailboxTable : conversationsTable
        var start = cursor.map { $0 + [0] } ?? p
        if let asOf, start.lexicographicallyPrecedes(p + inverted(asOf)) { start = p + inverted(asOf) }
        var count = 0, last: [UInt8]?
        try r.scan("node." + table, from: start) { k, v in
            guard k.starts(with: p) else { return false }
            let id = try MessageRowSummary.id(ofListing: v)
            // A longer conversation id that starts with this one has more bytes before the seq.
            if conversation != nil, k.count != p.count + 8 + ProjectionKey.of(id).count { return true }
            try entry(id, v)
            count += 1
            last = k
            return count < limit
        }
        return count == limit ? last : nil
    }

    /// ``entries(_:conversation:after:limit:asOf:reading:_:)`` of the page as it stands, each
    /// entry lent in place: the message id's UTF-8 bytes and its listing row, both valid only
    /// during the call (a mailbox page writes them out as it reads them, copying nothing).
    package static func listings(_ mailbox: FunctionalAddress, conversation: String? = nil, after cursor: [UInt8]? = nil, limit: Int,
                                 reading r: any ProjectionReading,
                                 _ entry: (_ id: UnsafeBufferPointer<UInt8>, _ listing: UnsafeBufferPointer<UInt8>) throws -> Void) throws -> [UInt8]? {
        let p = prefix(mailbox) + (conversation.map(conversationPrefix) ?? [])
        let table = conversation == nil ? qualifiedMailboxTable : qualifiedConversationsTable
        var count = 0, last: [UInt8]?
        try r.scanInPlace(table, from: cursor.map { $0 + [0] } ?? p) { k, v in
            guard k.starts(with: p) else { return false }
            let listing = v.assumingMemoryBound(to: UInt8.self)
            let id = try MessageRowSummary.idBytes(ofListing: listing)
            // A longer conversation id that starts with this one has more bytes before the seq.
            if conversation != nil, k.count != p.count + 8 + ProjectionKey.keyLength(id.count) { return true }
            try entry(id, listing)
            count += 1
            if count == limit { last = Array(k) }
            return count < limit
        }
        return last
    }

    static let qualifiedMailboxTable = "node." + mailboxTable
    static let qualifiedConversationsTable = "node." + conversationsTable

    /// The first page of a mailbox read raw: its index keys and each message's stored row, not
    /// decoded — what the page costs LMDB alone (`kvitto bench query` compares with it). Returns
    /// the bytes read.
    package static func rawFirstPage(_ mailbox: FunctionalAddress, limit: Int, in storage: any ProjectionStorage) throws -> Int {
        let p = prefix(mailbox)
        return try storage.read { r in
            var bytes = 0, ids: [[UInt8]] = []
            try r.scan("node." + mailboxTable, from: p) { k, v in
                guard k.starts(with: p) else { return false }
                ids.append(ProjectionKey.of(try MessageRowSummary.id(ofListing: v)))
                return ids.count < limit
            }
            for id in ids { bytes += try r.get("node." + NodeStateProjection.Table.messages, id)?.count ?? 0 }
            return bytes
        }
    }

    /// The ids of the mailbox's messages matching every word of `query` (each as a word prefix:
    /// "malm" finds "Malmö"), newest first, at most `limit`.
    package static func search(_ mailbox: FunctionalAddress, query: String, limit: Int,
                               in storage: any ProjectionStorage) throws -> [String] {
        let words = SearchText.words(query)
        guard !words.isEmpty else { return [] }
        let p = prefix(mailbox)
        return try storage.read { r in
            var result: [[UInt8]: String]?  // tail (~seq + id key) → id
            for w in words {
                var found: [[UInt8]: String] = [:]
                let start = p + Array(w.utf8)
                try r.scan("node." + termsTable, prefix: start) { k, v in
                    // The word ends at the first zero byte after the mailbox prefix.
                    guard let end = k[p.count...].firstIndex(of: 0) else { return true }
                    let tail = Array(k[(end + 1)...])
                    if result == nil || result![tail] != nil { found[tail] = String(decoding: v, as: UTF8.self) }
                    return true
                }
                result = found
                if found.isEmpty { break }
            }
            return (result ?? [:]).sorted { $0.key.lexicographicallyPrecedes($1.key) }.prefix(limit).map(\.value)
        }
    }
}
