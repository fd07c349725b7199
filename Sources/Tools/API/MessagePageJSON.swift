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
    private var w = JSONWriter(capacity: 128 + 512 * 50)
    private var count = 0

    init() { w.raw("{\"messages\":[") }

    /// Adds one message as ``Representation/summary(_:)`` shows it at `visibility`.
    mutating func add(_ m: MessageRowSummary, visibility: AccessPolicy.Visibility, readSeq: UInt64?) {
        if count > 0 { w.raw(",") }
        count += 1
        let subject = MessageAccess.Visible.showsSubject(visibility, confidential: m.confidential)
        w.raw("{\"confidential\":"); w.bool(m.confidential)
        if let c = m.conversation { w.raw(",\"conversation_id\":"); w.string(c) }
        w.raw(",\"created_at\":"); w.plainString(Self.date(m.createdAt))
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

    /// The page's JSON, with the next page's cursor when there is one.
    func finish(next: [UInt8]?) -> ByteBuffer {
        var w = w
        w.raw("]")
        if let next { w.raw(",\"next_cursor\":"); w.plainString(Hex.encode(next).utf8) }
        w.raw("}")
        return w.buffer
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
    /// the same `Date` and milliseconds rounded down, then RFC 3339 with three fractional digits.
    static func date(_ t: Timestamp) -> ArraySlice<UInt8> {
        let ms = (Representation.date(t).timeIntervalSince1970 * 1000).rounded(.down)
        var text = Timestamp(nanoseconds: Int64(ms) * 1_000_000).rfc3339Bytes
        text[23] = UInt8(ascii: "Z")
        return text[..<24]
    }
}
