package import Ledger

/// Who has read which message: the seq of each actor's first `message.accessed` of each message
/// (its content or an attachment), kept in the node projection so that a mailbox page can show
/// every person which messages they have read and which are unread. One row per actor and
/// message; later reads leave it as it is (the trace and the audit log have every read).
package enum ReadMarks {
    static let table = "reads"

    /// The row key: the actor's length, the actor and the message id (so that no actor and id
    /// pose as another pair), hashed when long (``ProjectionKey``).
    static func key(actor: String, message: String) -> [UInt8] {
        ProjectionKey.of("\(actor.utf8.count):\(actor)\(message)")
    }

    /// Records `event` when it is the first read of `message` by its actor.
    static func mark(_ event: Event, message: String, rows: ProjectionRows) throws {
        let k = key(actor: event.actor, message: message)
        guard try rows.get(table, k) == nil else { return }
        try rows.put(table, k, withUnsafeBytes(of: event.seq.bigEndian) { Array($0) })
    }

    /// The seq of `actor`'s first read of each of `messages` that it had read by `upTo`.
    package static func firstReads(by actor: String, of messages: [String], upTo: UInt64 = .max,
                                   in storage: any ProjectionStorage) throws -> [String: UInt64] {
        try storage.read { r in try firstReads(by: actor, of: messages, upTo: upTo, reading: r) }
    }

    /// ``firstReads(by:of:upTo:in:)`` inside the caller's read transaction.
    package static func firstReads(by actor: String, of messages: [String], upTo: UInt64 = .max,
                                   reading r: any ProjectionReading) throws -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for id in messages {
            guard let v = try r.get("node." + table, key(actor: actor, message: id)) else { continue }
            let seq = EventIndex.uint64(v)
            if seq <= upTo { out[id] = seq }
        }
        return out
    }
}
