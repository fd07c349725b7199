import Foundation
import Ledger
import Node
import Projections

/// The constraints `Schemas/openapi.yaml` puts on parameters, checked before a handler uses them
/// (the generated layer decodes types, not lengths, patterns or ranges).
enum Parameters {
    static func address(_ text: String) throws(NodeError) -> FunctionalAddress {
        // Counted in code points, as the document counts (a combining mark after `@` is no new character).
        let scalars = text.unicodeScalars
        let parts = scalars.split(separator: "@", omittingEmptySubsequences: false)
        guard (3...300).contains(scalars.count), parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && !$0.contains(where: FunctionalAddress.refusedInIdentifiers) }),
              let a = FunctionalAddress(text), !a.function.isEmpty, !a.participant.isEmpty else {
            throw NodeError(.invalidRequest, "address must be function@participant, e.g. registrator@0203:b.example.se")
        }
        return a
    }

    static func messageID(_ text: String) throws(NodeError) -> String {
        guard MessageIdentifier.isValid(text) else {
            throw NodeError(.invalidRequest, "a message id is 1–200 characters of letters, digits and ._:@-")
        }
        return text
    }

    static func limit(_ value: Int?) throws(NodeError) -> Int {
        guard let value else { return 50 }
        guard (1...500).contains(value) else { throw NodeError(.invalidRequest, "limit must be 1–500") }
        return value
    }

    static func query(_ text: String?) throws(NodeError) -> String? {
        guard let text else { return nil }
        guard (1...200).contains(text.count) else { throw NodeError(.invalidRequest, "q must be 1–200 characters") }
        return text
    }

    static func cursor(_ text: String?) throws(NodeError) -> [UInt8]? {
        guard let text else { return nil }
        guard (2...200).contains(text.count), let bytes = Hex.decode(text) else {
            throw NodeError(.invalidRequest, "cursor must be the next_cursor of a previous page")
        }
        return bytes
    }

    static func purpose(_ text: String?) throws(NodeError) -> String? {
        guard let text else { return nil }
        guard text.count <= 500 else { throw NodeError(.invalidRequest, "purpose must be at most 500 characters") }
        return text
    }

    static func asOf(_ value: Int?) throws(NodeError) -> UInt64? {
        guard let value else { return nil }
        guard value >= 1 else { throw NodeError(.invalidRequest, "asOf must be a ledger position, 1 or more") }
        return UInt64(value)
    }

    /// The document's bounds on a submission's members.
    static func index(_ value: Int) throws(NodeError) -> Int {
        guard (0...10_000).contains(value) else { throw NodeError(.invalidRequest, "index must be 0–10000") }
        return value
    }
}

extension Parameters {
    static func principalName(_ text: String) throws(NodeError) -> PrincipalName {
        guard (4...519).contains(text.unicodeScalars.count), let n = PrincipalName(text) else {
            throw NodeError(.invalidRequest, "grantee must be a principal name: os:, pnr:, hsa:, sub:ISSUER#SUB, client:ISSUER#ID or cert:SHA256")
        }
        return n
    }

    static func scope(_ text: String) throws(NodeError) -> AccessScope {
        guard (4...400).contains(text.count), let s = AccessScope(text) else {
            throw NodeError(.invalidRequest, "scope must be node, participant:ID or mailbox:FUNCTION@PARTICIPANT")
        }
        return s
    }

    /// `text` when its length is in `range` (the document's minLength/maxLength).
    static func bounded(_ text: String?, _ range: ClosedRange<Int>, _ name: String) throws(NodeError) -> String? {
        guard let text else { return nil }
        guard range.contains(text.unicodeScalars.count) else { throw NodeError(.invalidRequest, "\(name) must be \(range.lowerBound)–\(range.upperBound) characters") }
        return text
    }

    static func reason(_ text: String) throws(NodeError) -> String {
        guard (1...1000).contains(text.unicodeScalars.count) else { throw NodeError(.invalidRequest, "reason must be 1–1000 characters") }
        return text
    }

    /// An audit query's filters (`GET /v1/audit/events`, `/v1/audit/report`): an empty one
    /// (`participant=`) is no filter; lengths are bounded; a participant or mailbox that cannot
    /// exist is answered like one that does not ("not found").
    static func auditQuery(participant: String?, mailbox: String?, actor: String?, type: String?,
                           since: Date?, until: Date?) throws(NodeError) -> AuditLog.Query {
        func given(_ s: String?) -> String? { s?.isEmpty == true ? nil : s }
        let participant = try bounded(given(participant), 1...300, "participant"), mailbox = try bounded(given(mailbox), 1...300, "mailbox")
        let actor = try bounded(given(actor), 1...600, "actor"), type = try bounded(given(type), 1...200, "type")
        if let m = mailbox, FunctionalAddress(m) == nil { throw NodeError(.notFound, "no mailbox \(m)") }
        if let p = participant, p.contains(where: \.isWhitespace) { throw NodeError(.notFound, "no participant \(p)") }
        var query = AuditLog.Query(participant: participant, mailbox: mailbox.flatMap(FunctionalAddress.init), actor: actor, type: type)
        query.since = since.map(moment)
        query.until = until.map(moment)
        return query
    }

    /// The earliest and latest moments a request may name (the document's date pattern).
    static let earliest = Timestamp(rfc3339: "1970-01-01T00:00:00.000000000Z")!, latest = Timestamp(rfc3339: "2199-12-31T23:59:59.999999999Z")!

    /// A moment a query asks about, to the microsecond (the nearest one: what a date-time
    /// parameter carries beyond that is lost on the way), clamped to 1970–2199 (before 1970 the
    /// ledger held nothing, after 2199 it holds what it holds now).
    static func moment(_ date: Date) -> Timestamp {
        let seconds = min(max(date.timeIntervalSince1970, 0), Double(latest.nanoseconds / 1_000_000_000))
        return Timestamp(nanoseconds: Int64((seconds * 1_000_000).rounded()) * 1000)
    }

    /// A moment to record (a grant's validity): 1970–2199 as the document's pattern writes it
    /// (a day of slack for the time offset, clamped to the range), or refused.
    static func timestamp(_ date: Date, _ what: String) throws(NodeError) -> Timestamp {
        let seconds = date.timeIntervalSince1970
        guard seconds >= -86_400, seconds < Double(latest.nanoseconds / 1_000_000_000) + 86_400 else {
            throw NodeError(.invalidRequest, "\(what) must lie in 1970–2199")
        }
        return moment(date)
    }
}
