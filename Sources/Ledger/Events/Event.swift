import Foundation

/// One signed ledger event.
///
/// The canonical bytes (``body``) are RFC 8785 canonical JSON of the envelope without `hash` and
/// `sig`; `hash = SHA-256(body)`; `sig = Ed25519(key, hash)`. See Schemas/ledger-events.md.
///
/// An immutable reference type: events are handed from the writer to appenders, subscribers and
/// readers in large numbers, and copying a reference is one retain instead of one per member.
/// (The one exception: the writer builds its events before their signatures exist and fills each
/// in once, before anyone else sees the event — see ``sign(with:)``.)
public final class Event: Sendable, Hashable {
    public let seq: UInt64
    public let time: Timestamp
    /// Type, subject, actor and payload, shared with the draft the event was written from.
    let content: EncodedDraft
    /// Hash of event `seq − 1` (32 zero bytes for seq 1).
    public let prev: Digest32
    /// Id of the signing key (see ``LedgerSigningKey/keyID``).
    public let key: String
    public let hash: Digest32
    /// Ed25519 signature over the 32 bytes of `hash`, inline.
    var signed: EventSignature { signature_ }
    // Sendable: written by `sign(with:)` only, once per event and before the event is published:
    // by the ledger writer's sign pass, before the batch holding the event is handed to the
    // committer under the writer's lock (the event reaches any other thread — appender, subscriber,
    // reader — only after that hand-over), or by `make` before it returns the event. Nothing
    // writes it afterwards; every other initialiser sets it once and for all.
    // No dynamic exclusivity check either: the single write happens before any read, as above.
    @exclusivity(unchecked) nonisolated(unsafe) private var signature_: EventSignature
    /// The canonical bytes that `hash` covers.
    public let body: [UInt8]

    public var type: String { content.draft.type }
    public var typeVersion: Int64 { content.draft.typeVersion }
    public var subject: String { content.draft.subject }
    public var actor: String { content.draft.actor }
    public var payload: JSONValue { content.draft.payload }
    /// Ed25519 signature over the 32 bytes of `hash`.
    public var signature: [UInt8] { signed.bytes }

    init(seq: UInt64, time: Timestamp, content: EncodedDraft, prev: Digest32, key: String, hash: Digest32,
        signature: EventSignature, body: [UInt8])
    {
        self.seq = seq
        self.time = time
        self.content = content
        self.prev = prev
        self.key = key
        self.hash = hash
        self.signature_ = signature
        self.body = body
    }

    convenience init(seq: UInt64, time: Timestamp, type: String, typeVersion: Int64, subject: String, actor: String,
        payload: JSONValue, prev: Digest32, key: String, hash: Digest32, signature: EventSignature, body: [UInt8])
    {
        self.init(seq: seq, time: time,
            content: EncodedDraft(decoded: EventDraft(type: type, typeVersion: typeVersion, subject: subject,
                actor: actor, payload: payload)),
            prev: prev, key: key, hash: hash, signature: signature, body: body)
    }

    /// Two events are equal when their signed bytes are.
    public static func == (a: Event, b: Event) -> Bool {
        a === b || (a.hash == b.hash && a.body == b.body && a.signed == b.signed)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// The envelope as a JSON object, `hash` and `sig` included.
    public var json: JSONValue {
        guard case .object(var o) = Self.bodyObject(seq: seq, time: time, type: type, typeVersion: typeVersion,
            subject: subject, actor: actor, payload: payload, prev: prev, key: key)
        else { return .null }
        o["hash"] = .string(hash.hex)
        o["sig"] = .string(Data(signature).base64EncodedString())
        return .object(o)
    }

    static func bodyObject(seq: UInt64, time: Timestamp, type: String, typeVersion: Int64, subject: String,
        actor: String, payload: JSONValue, prev: Digest32, key: String) -> JSONValue
    {
        .object([
            "seq": .int(Int64(seq)),
            "time": .string(time.rfc3339),
            "type": .string(type),
            "type_version": .int(typeVersion),
            "subject": .string(subject),
            "actor": .string(actor),
            "payload": payload,
            "prev": .string(prev.hex),
            "key": .string(key),
        ])
    }

    /// Builds and signs an event.
    static func make(seq: UInt64, time: Timestamp, draft: EventDraft, prev: Digest32, signer: LedgerSigningKey) -> Event {
        let event = Event.unsigned(seq: seq, time: time, draft: draft, prev: prev, key: signer.keyID)
        event.sign(with: signer)
        return event
    }

    /// Builds the body and hash; the signature is added by ``sign(with:)`` (possibly on another thread).
    static func unsigned(seq: UInt64, time: Timestamp, draft: EventDraft, prev: Digest32, key: String) -> Event {
        let content = EncodedDraft(draft)
        var (body, prevAt) = encodeBody(seq: seq, timeBytes: time.rfc3339Bytes, content: content, key: KeyPiece(key))
        patchPrev(&body, at: prevAt, prev)
        return Event(seq: seq, time: time, content: content, prev: prev, key: key, hash: Digest32.sha256(body),
            signature: EventSignature.unset, body: body)
    }

    /// The canonical body in RFC 8785 member order (actor, key, payload, prev, seq, subject, time,
    /// type, type_version), assembled with one allocation from the draft's pre-encoded pieces, with
    /// a 64-character placeholder for `prev` at the returned offset: everything but the hash chain
    /// can be encoded in parallel. Produces exactly `CanonicalJSON.encode(bodyObject(…))`.
    static func encodeBody(seq: UInt64, timeBytes: [UInt8], content: EncodedDraft, key: KeyPiece)
        -> (body: [UInt8], prevOffset: Int)
    {
        let t = content.template
        precondition(!t.isEmpty, "a draft read back from storage has no template")
        let size = t.count + key.bytes.count + 9 + 64 + 8 + ByteWriter.decimalDigits(seq) + 9 + timeBytes.count + 1
        var prevOffset = 0
        let body = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var w = ByteWriter(buffer)
            t.withUnsafeBufferPointer { t in
                w.write(t[0..<content.actorEnd])
                w.write(key.bytes)
                w.write(t[content.actorEnd..<content.payloadEnd])
                w.write(#","prev":""#)
                prevOffset = w.count
                w.write(UInt8(ascii: "0"), repeating: 64)
                w.write(#"","seq":"#)
                w.writeDecimal(seq)
                w.write(t[content.payloadEnd..<content.subjectEnd])
                w.write(#","time":""#)
                w.write(timeBytes)
                w.write("\"")
                w.write(t[content.subjectEnd...])
            }
            precondition(w.count == size, "canonical body size mismatch")
            initialized = w.count
        }
        return (body, prevOffset)
    }

    /// Writes `prev` as lowercase hex into the placeholder left by ``encodeBody``.
    static func patchPrev(_ body: inout [UInt8], at offset: Int, _ prev: Digest32) {
        precondition(offset >= 0 && offset + 64 <= body.count, "prev placeholder out of range")
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { hex in
            prev.withBytes { bytes in
                body.withUnsafeMutableBufferPointer { out in
                    for (i, b) in bytes.enumerated() {
                        out[offset + 2 * i] = hex[Int(b >> 4)]
                        out[offset + 2 * i + 1] = hex[Int(b & 0xF)]
                    }
                }
            }
        }
    }

    /// Fills in the signature of an event built unsigned (by the writer's chain pass, or by
    /// ``unsigned(seq:time:draft:prev:key:)``). Called once per event, before the event is
    /// published (see `signature_`).
    func sign(with signer: LedgerSigningKey) {
        signature_ = signer.sign(hash)
    }

    /// The stored record: `hash (32) ‖ sig (64) ‖ body`.
    var record: [UInt8] { hash.bytes + signed.bytes + body }

    /// Why a stored record could not be read as an event.
    struct DecodeError: Error, CustomStringConvertible {
        let description: String
    }

    /// Decodes a stored record. Checks the structure and that `hash` is the SHA-256 of the body;
    /// the signature is checked by the caller, who knows the key.
    static func decode(record: [UInt8]) throws(DecodeError) -> Event {
        guard record.count > 96 else { throw DecodeError(description: "stored record is \(record.count) bytes, too short") }
        let hash = Digest32(unchecked: Array(record[0..<32]))
        guard let signature = EventSignature(Array(record[32..<96])) else {
            throw DecodeError(description: "stored record has no 64-byte signature")
        }
        let body = Array(record[96...])
        guard Digest32.sha256(body) == hash else {
            throw DecodeError(description: "hash does not match the event's canonical bytes (content altered)")
        }
        return try decode(body: body, hash: hash, signature: signature)
    }

    static func decode(body: [UInt8], hash: Digest32, signature: EventSignature) throws(DecodeError) -> Event {
        let value: JSONValue
        do { value = try JSONParser.parseCanonical(body) } catch {
            throw DecodeError(description: error.reason == .notCanonical
                ? "stored bytes are not in canonical form (\(error))" : "canonical bytes are not valid JSON: \(error)")
        }
        guard case .object(let o) = value, o.count == 9,
            let seq = o["seq"]?.intValue, seq > 0,
            let timeText = o["time"]?.stringValue, let time = Timestamp(rfc3339: timeText),
            let type = o["type"]?.stringValue, let typeVersion = o["type_version"]?.intValue,
            let subject = o["subject"]?.stringValue, let actor = o["actor"]?.stringValue,
            let payload = o["payload"], case .object = payload,
            let prevText = o["prev"]?.stringValue, let prev = Digest32(hex: prevText),
            let key = o["key"]?.stringValue
        else { throw DecodeError(description: "canonical bytes do not form an event envelope") }
        return Event(seq: UInt64(seq), time: time, type: type, typeVersion: typeVersion, subject: subject,
            actor: actor, payload: payload, prev: prev, key: key, hash: hash, signature: signature, body: body)
    }

    /// Reads an event from its JSON envelope (`hash` and `sig` included), checking the hash.
    public static func fromJSON(_ value: JSONValue) throws -> Event {
        guard case .object(var o) = value, let hashText = o.removeValue(forKey: "hash")?.stringValue,
            let hash = Digest32(hex: hashText), let sigText = o.removeValue(forKey: "sig")?.stringValue,
            let sigData = Data(base64Encoded: sigText), let sig = EventSignature(Array(sigData))
        else { throw DecodeError(description: "event JSON needs hex hash and base64 sig") }
        let body = CanonicalJSON.encode(.object(o))
        guard Digest32.sha256(body) == hash else { throw DecodeError(description: "hash does not match the envelope") }
        return try decode(body: body, hash: hash, signature: sig)
    }
}

