import Ledger
import Node
import Projections

/// The constraints `Schemas/openapi.yaml` puts on parameters, checked before a handler uses them
/// (the generated layer decodes types, not lengths, patterns or ranges).
enum Parameters {
    static func address(_ text: String) throws(NodeError) -> FunctionalAddress {
        guard (3...300).contains(text.count), text.filter({ $0 == "@" }).count == 1, !text.contains("/"),
              let a = FunctionalAddress(text), !a.function.isEmpty, !a.participant.isEmpty else {
            throw NodeError(.invalidRequest, "address must be function@participant, e.g. registrator@0203:b.example.se")
        }
        return a
    }

    static func messageID(_ text: String) throws(NodeError) -> String {
        guard (1...200).contains(text.count),
              text.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._:@-".unicodeScalars.contains($0)) }) else {
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
    static func check(_ s: Components.Schemas.Submission) throws(NodeError) {
        func bound(_ ok: Bool, _ what: String) throws(NodeError) { if !ok { throw NodeError(.invalidRequest, what) } }
        try bound((s.label?.count ?? 0) <= 255, "label is at most 255 characters")
        try bound((s.reference?.count ?? 0) <= 255, "reference is at most 255 characters")
        try bound((s.texts?.count ?? 0) <= 100 && (s.texts ?? []).allSatisfy { $0.count <= 1_000_000 }, "at most 100 texts of at most 1,000,000 characters")
        try bound((s.attachments?.count ?? 0) <= 100, "at most 100 attachments")
        for a in s.attachments ?? [] {
            try bound((1...255).contains(a.fileName.count) && (3...255).contains(a.contentType.count),
                      "an attachment's file_name is 1–255 characters and its content_type 3–255")
        }
    }

    static func index(_ value: Int) throws(NodeError) -> Int {
        guard (0...10_000).contains(value) else { throw NodeError(.invalidRequest, "index must be 0–10000") }
        return value
    }
}
