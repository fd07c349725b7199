import Foundation
import Ledger
import NIOCore
import Node
import Projections

/// A mailbox page (`MessagePage` of `Schemas/openapi.yaml`) written from the stored rows as the
/// generated layer writes ``Representation/summary(_:)`` of each message, without `Codable` and
/// without decoding the messages: the same members, in sorted order, the same bytes
/// (`MessagePageJSONTests` compares the two for every kind of message).
struct MessagePageJSON {
    private var buffer = ByteBufferAllocator().buffer(capacity: 128 + 640 * 50)
    private var count = 0

    init() { write(bound: 16) { $0.raw("{\"messages\":[") } }

    /// Adds one message as ``Representation/summary(_:)`` shows it at `visibility`.
    mutating func add(_ m: MessageRowSummary, visibility: AccessPolicy.Visibility, readSeq: UInt64?) {
        // Room for every text escaped, the fixed members and values (about 200 bytes) and a seq.
        let texts = m.id.count + (m.label?.count ?? 0) + (m.conversation?.count ?? 0) + (m.reference?.count ?? 0)
            + (m.from.map { $0.function.count + $0.participant.count } ?? 0) + (m.to.map { $0.function.count + $0.participant.count } ?? 0)
        let first = count == 0
        count += 1
        write(bound: JSONWriter.escapedBound(texts) + 512) { w in
            if !first { w.raw(",") }
            let subject = MessageAccess.Visible.showsSubject(visibility, confidential: m.confidential)
            w.raw("{\"confidential\":"); w.bool(m.confidential)
            if let c = m.conversation { w.raw(",\"conversation_id\":"); w.string(c) }
            w.raw(",\"created_at\":"); w.millisecondDate(Self.milliseconds(m.createdAt))
            w.raw(m.direction == .inbound ? ",\"direction\":\"inbound\"" : ",\"direction\":\"outbound\"")
            if let f = m.from { w.raw(",\"from\":"); w.string(f.function, UInt8(ascii: "@"), f.participant) }
            w.raw(",\"id\":"); w.string(m.id)
            if subject, let l = m.label { w.raw(",\"label\":"); w.string(l) }
            if let s = readSeq { w.raw(",\"read_seq\":"); w.int(Int(s)) }
            if subject, let r = m.reference { w.raw(",\"reference\":"); w.string(r) }
            w.raw(",\"status\":"); w.raw(Self.status(m.status))
            if let t = m.to { w.raw(",\"to\":"); w.string(t.function, UInt8(ascii: "@"), t.participant) }
            switch visibility {
            case .full: w.raw(",\"visibility\":\"full\"}")
            case .audit: w.raw(",\"visibility\":\"audit\"}")
            case .transport, .none: w.raw(",\"visibility\":\"transport\"}")
            }
        }
    }

    /// The page's JSON, with the next page's cursor when there is one (called once, last).
    mutating func finish(next: [UInt8]?) -> ByteBuffer {
        let cursor = next.map { Array(Hex.encode($0).utf8) } ?? []
        write(bound: cursor.count + 32) { w in
            w.raw("]")
            if next != nil { w.raw(",\"next_cursor\":"); cursor.withUnsafeBufferPointer { w.plainString($0) } }
            w.raw("}")
        }
        return buffer
    }

    /// Writes one part straight into the answer's buffer with `bound` bytes of room; a part that
    /// does not fit (``JSONWriter/overflowed``: the bound was too small, which the bounds above
    /// rule out) is written again with twice the room, so the page is whole either way.
    private mutating func write(bound: Int, _ part: (inout JSONWriter) -> Void) {
        var room = bound
        while true {
            var fitted = false
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { memory in
                var w = JSONWriter(memory)
                part(&w)
                fitted = !w.overflowed
                return fitted ? w.count : 0
            }
            if fitted { return }
            room *= 2
        }
    }

    /// The status as the document names it (each of ours is one of its values).
    static func status(_ s: MessageStatus) -> StaticString {
        switch s {
        case .submitted: "\"submitted\""
        case .dispatched: "\"dispatched\""
        case .delivered: "\"delivered\""
        case .received: "\"received\""
        case .accepted: "\"accepted\""
        case .rejected: "\"rejected\""
        case .failed: "\"failed\""
        }
    }

    /// `created_at` as ``TimestampTranscoder`` writes ``Representation/date(_:)`` of it: through
    /// the same `Date` and milliseconds rounded down (``JSONWriter/millisecondDate(_:)`` then
    /// writes RFC 3339 with three fractional digits).
    static func milliseconds(_ t: Timestamp) -> Timestamp {
        let ms = (Representation.date(t).timeIntervalSince1970 * 1000).rounded(.down)
        return Timestamp(nanoseconds: Int64(ms) * 1_000_000)
    }
}
