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
        let lookup = Lookup(actor: actor, upTo: upTo, reading: r)
        var out: [String: UInt64] = [:]
        for id in messages {
            if let seq = try lookup.firstRead(of: id) { out[id] = seq }
        }
        return out
    }

    /// One actor's first reads, asked message by message inside a read transaction (a mailbox
    /// page asks for each row as it writes it): the key's actor part is made once.
    package struct Lookup {
        let prefix: [UInt8]
        let upTo: UInt64
        let reading: any ProjectionReading

        package init(actor: String, upTo: UInt64 = .max, reading: any ProjectionReading) {
            prefix = Array("\(actor.utf8.count):\(actor)".utf8)
            self.upTo = upTo
            self.reading = reading
        }

        /// The seq of the actor's first read of `message`, if it was by `upTo`.
        package func firstRead(of message: String) throws -> UInt64? {
            var message = message
            return try message.withUTF8 { try firstRead(of: $0) }
        }

        /// ``firstRead(of:)`` of a message id given as its UTF-8 bytes.
        package func firstRead(of message: UnsafeBufferPointer<UInt8>) throws -> UInt64? {
            let length = prefix.count + message.count
            guard length <= ProjectionKey.maxInline else {
                return try seq(ProjectionKey.of(bytes: prefix + Array(message)).withUnsafeBytes { try value(under: $0) })
            }
            // The inline key (the usual case) is put together on the stack.
            return try withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { key in
                prefix.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: key[..<prefix.count]).copyMemory(from: $0) }
                UnsafeMutableRawBufferPointer(rebasing: key[prefix.count...]).copyMemory(from: UnsafeRawBufferPointer(message))
                return try seq(value(under: UnsafeRawBufferPointer(key)))
            }
        }

        private func value(under key: UnsafeRawBufferPointer) throws -> UInt64? {
            var found: UInt64?
            try reading.withValue(ReadMarks.qualifiedTable, key) { v in found = v.map { $0.suffix(8).reduce(0) { $0 << 8 | UInt64($1) } } }
            return found
        }

        private func seq(_ found: UInt64?) -> UInt64? {
            guard let found, found <= upTo else { return nil }
            return found
        }
    }

    /// ``table`` as the node projection's storage names it.
    static let qualifiedTable = "node." + table
}
