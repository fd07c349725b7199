package import Ledger

/// Which blobs an evidence bundle's events reference, what each is, and how much it may show
/// (Schemas/evidence-bundle.md §6). The producer and the verifier both derive the `blobs` array
/// from here, so the bundle can only list what its events reference.
package enum EvidenceBlobCatalog {
    /// What a referenced blob is for: evidence ships always, content only to a reader, ciphertext
    /// never (it proves nothing to a verifier; a wrapped content key opens only with a key that
    /// never leaves the node). Ordered from most to least restricted.
    package enum Role: String, Sendable, Comparable {
        case content, ciphertext, evidence

        private var rank: Int { self == .content ? 0 : self == .ciphertext ? 1 : 2 }
        package static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
    }

    /// One reference: where in which event.
    package struct Reference: Sendable, Equatable {
        package let seq: UInt64
        /// RFC 6901 JSON Pointer from the event's envelope, e.g. `/payload/dispatch/soap`.
        package let pointer: String
        package let sha256: Digest32
        package let size: Int64
        package let kind: String
        package let role: Role
    }

    /// One distinct blob: all its references, in the order they were found.
    package struct Entry: Sendable {
        package let sha256: Digest32
        package let size: Int64
        /// The first reference's kind.
        package let kind: String
        /// The most restricted role of any reference.
        package let role: Role
        package let references: [Reference]
        /// Whether every reference records the same size.
        package let consistentSize: Bool
    }

    /// The references in one event's `payload` (of type `type`), in the order of
    /// ``BlobReferences/find(in:)``: depth first, an object before its members, members sorted,
    /// array elements in order. `blob.erased` has none (its `blob` member names, not references).
    package static func references(seq: UInt64, type: String, payload: JSONValue) -> [Reference] {
        guard type != "blob.erased" else { return [] }
        return BlobReferences.located(in: payload, at: "/payload").map { ref, pointer in
            let (kind, role) = classify(type: type, pointer: pointer, payload: payload)
            return Reference(seq: seq, pointer: pointer, sha256: ref.sha256, size: ref.size, kind: kind, role: role)
        }
    }

    /// Groups references by SHA-256, ordered by first reference.
    package static func entries(_ references: [Reference]) -> [Entry] {
        var order: [Digest32] = []
        var grouped: [Digest32: [Reference]] = [:]
        for r in references {
            if grouped[r.sha256] == nil { order.append(r.sha256) }
            grouped[r.sha256, default: []].append(r)
        }
        return order.map { sha in
            let refs = grouped[sha]!
            return Entry(sha256: sha, size: refs[0].size, kind: refs[0].kind, role: refs.map(\.role).min()!,
                         references: refs, consistentSize: refs.allSatisfy { $0.size == refs[0].size })
        }
    }

    /// The kind and role of a reference at `pointer` in an event of `type` (the table of §6); a
    /// reference the table does not list is `other`/content, so it is withheld unless content is
    /// included (fails closed).
    package static func classify(type: String, pointer: String, payload: JSONValue) -> (String, Role) {
        let p = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        // p[0] == "payload"
        let rest = Array(p.dropFirst())
        let isIndex: (String) -> Bool = { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && ($0 == "0" || $0.first != "0") }
        let submittedOrReceiptSent = type == "message.submitted" || type == "message.receipt.sent" || type == "message.resealed"
        switch rest.count {
        case 1:
            switch (type, rest[0]) {
            case ("message.submitted", "sdk_message"): return ("sdk_message", .content)
            case ("message.submitted", "xhe"), ("message.receipt.sent", "xhe"), ("message.resealed", "xhe"): return ("xhe", .evidence)
            case ("message.receipt.sent", "receipt"), ("message.receipt.received", "receipt"): return ("meddelandekvittens", .evidence)
            case ("message.received", "xhe"), ("message.receipt.received", "xhe"): return ("xhe", .evidence)
            case ("message.received", "soap"), ("message.receipt.received", "soap"): return ("as4_message", .evidence)
            case ("transport.receipt.received", "receipt"), ("transport.receipt.sent", "receipt"): return ("as4_receipt", .evidence)
            case ("transport.error.received", "response"): return ("as4_error", .evidence)
            case ("message.accessed", "blob"):
                return (payload["part"]?.stringValue == "message" ? "sdk_message" : "attachment", .content)
            default: break
            }
        case 2:
            if submittedOrReceiptSent, rest[0] == "dispatch", rest[1] == "soap" { return ("as4_message", .evidence) }
            if submittedOrReceiptSent, rest[0] == "dispatch", rest[1] == "recipient_certificate" { return ("as4_certificate", .evidence) }
            if submittedOrReceiptSent, rest[0] == "dispatch", rest[1] == "recipient_o2o_certificate" { return ("o2o_certificate", .evidence) }
            if type == "message.receipt.sent", rest[0] == "content", rest[1] == "sdk_message" { return ("sdk_message", .content) }
            if type == "message.submitted", rest[0] == "content_encryption", rest[1] == "key" { return ("content_key", .ciphertext) }
        case 3:
            if type == "message.receipt.sent", rest[0] == "content", rest[1] == "content_encryption", rest[2] == "key" {
                return ("content_key", .ciphertext)
            }
            if type == "message.submitted", rest[0] == "attachments", isIndex(rest[1]), rest[2] == "blob" { return ("attachment", .content) }
        case 4:
            if submittedOrReceiptSent, rest[0] == "dispatch", rest[1] == "attachments", isIndex(rest[2]), rest[3] == "blob" {
                return ("as4_payload", .ciphertext)
            }
            if type == "message.receipt.sent", rest[0] == "content", rest[1] == "attachments", isIndex(rest[2]), rest[3] == "blob" {
                return ("attachment", .content)
            }
        default: break
        }
        return ("other", .content)
    }
}
