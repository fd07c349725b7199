import Node
import Projections

/// `GET /v1/mailboxes/{address}/messages` once its parameters are decoded: the document's
/// constraints checked, then the page read under the caller's grants. The generated handler and
/// ``MailboxPageRoute`` both answer through it.
struct MailboxListing {
    var address: String
    var q: String?
    var conversation: String?
    var cursor: String?
    var limit: Int?
    var asOf: Int?

    /// No search and no `asOf`: the page as it stands, which ``rows(_:as:_:)`` reads in place.
    var isCurrentPage: Bool { q == nil && asOf == nil }

    /// The parameters as the document constrains them, checked in this order.
    private func checked() throws(NodeError) -> (mailbox: FunctionalAddress, cursor: [UInt8]?, q: String?, limit: Int, conversation: String?) {
        let mailbox = try Parameters.address(address)
        let cursor = try Parameters.cursor(cursor), q = try Parameters.query(q), limit = try Parameters.limit(limit)
        let conversation = try conversation.map { c throws(NodeError) in try Parameters.messageID(c) }
        if q != nil, conversation != nil { throw NodeError(.unprocessable, "give q or conversation, not both") }
        return (mailbox, cursor, q, limit, conversation)
    }

    func page(_ access: MessageAccess, as principal: Principal) async throws(NodeError) -> (messages: [MessageAccess.Visible], next: [UInt8]?) {
        let c = try checked()
        return try await access.page(c.mailbox, search: c.q, conversation: c.conversation, after: c.cursor, limit: c.limit,
                                     asOf: try Parameters.asOf(asOf), as: principal)
    }

    /// The same page (checked the same way, in the same order) handed row by row to `row`, as
    /// ``MessageAccess/pageRows(_:conversation:after:limit:as:_:)`` reads it; only for
    /// ``isCurrentPage``. Returns the next page's cursor.
    func rows(_ access: MessageAccess, as principal: Principal,
              _ row: (MessageRowSummary, AccessPolicy.Visibility, UInt64?) throws -> Void) async throws(NodeError) -> [UInt8]? {
        guard isCurrentPage else { throw NodeError(.storage, "a search or an asOf page is read through page(_:as:)") }
        let c = try checked()
        return try await access.pageRows(c.mailbox, conversation: c.conversation, after: c.cursor, limit: c.limit, as: principal, row)
    }
}
