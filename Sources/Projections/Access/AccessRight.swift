/// What a grant allows on its scope (`Schemas/access.md` explains each).
package enum AccessRight: String, Sendable, Hashable, CaseIterable, Comparable {
    /// List the scope's messages with their subjects, see their metadata and trace, and read
    /// their content and attachments (content also needs strong authentication; every read is
    /// recorded as `message.accessed` before a byte is returned).
    case read
    /// Submit messages from the scope's functional mailboxes.
    case send
    /// Grant and revoke rights inside the scope (a participant or mailbox administrator; on the
    /// node scope, the node administrator).
    case manage
    /// Read every event and the access log of the scope's participants, and its grants; never
    /// content unless also granted `read`.
    case audit
    /// Transport metadata of every participant (ids, status, attempts, errors) without content
    /// or subjects. Node scope only: the node operator.
    case operate

    package static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Parses a comma-separated list (`read,send`); nil when a name is unknown or the list is empty.
    package static func parseList(_ text: String) -> Set<AccessRight>? {
        let names = text.split(separator: ",").map { String($0.filter { $0 != " " }) }
        guard !names.isEmpty else { return nil }
        var out = Set<AccessRight>()
        for n in names {
            guard let r = AccessRight(rawValue: n) else { return nil }
            out.insert(r)
        }
        return out
    }
}

extension Set where Element == AccessRight {
    /// `read,send` in the canonical order.
    package var listText: String { sorted().map(\.rawValue).joined(separator: ",") }
}
