/// How events name content in the blob store: every JSON object in a payload that has a
/// `sha256` member (64 hex digits) and an integer `size` member is a reference to that blob
/// (`{"sha256": "…", "size": 1234}`, possibly with more members such as a file name). Events
/// carry these references, never the bytes; `BlobVerifier` checks each referenced blob.
public enum BlobReferences {
    /// The references in `value`, depth first, in document order (member names sorted).
    public static func find(in value: JSONValue) -> [BlobRef] {
        var found: [BlobRef] = []
        collect(value, into: &found, depth: 0)
        return found
    }

    /// The references in `value` with where they are: an RFC 6901 JSON Pointer, `base` followed
    /// by the path inside `value` (e.g. base `/payload` gives `/payload/dispatch/soap`). Same order
    /// as ``find(in:)``.
    public static func located(in value: JSONValue, at base: String) -> [(ref: BlobRef, pointer: String)] {
        var found: [(BlobRef, String)] = []
        collect(value, pointer: base, into: &found, depth: 0)
        return found
    }

    /// The blob a `blob.erased` event names (its `payload.blob`, 64 hex digits); nil for any other
    /// event or a malformed one.
    public static func erased(type: String, payload: JSONValue) -> Digest32? {
        guard type == "blob.erased", let hex = payload["blob"]?.stringValue else { return nil }
        return Digest32(hex: hex)
    }

    /// RFC 6901: `~` as `~0`, `/` as `~1`.
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// ``collect(_:pointer:into:depth:)`` without building the pointers (which costs more than
    /// the walk itself): the same references in the same order.
    private static func collect(_ value: JSONValue, into found: inout [BlobRef], depth: Int) {
        guard depth < 64 else { return }
        switch value {
        case .object(let o):
            if let ref = reference(o) { found.append(ref) }
            for key in o.keys.sorted() { collect(o[key]!, into: &found, depth: depth + 1) }
        case .array(let a):
            for element in a { collect(element, into: &found, depth: depth + 1) }
        default:
            break
        }
    }

    /// The reference an object makes: a `sha256` member of 64 hex digits and a `size` ≥ 0.
    private static func reference(_ o: [String: JSONValue]) -> BlobRef? {
        guard let hex = o["sha256"]?.stringValue, hex.utf8.count == 64, let digest = Digest32(hex: hex),
              let size = o["size"]?.intValue, size >= 0 else { return nil }
        return BlobRef(sha256: digest, size: size)
    }

    private static func collect(_ value: JSONValue, pointer: String, into found: inout [(BlobRef, String)], depth: Int) {
        // Payloads are bounded in size and nesting by the ledger; the guard keeps this walk
        // bounded for any value handed to it.
        guard depth < 64 else { return }
        switch value {
        case .object(let o):
            if let ref = reference(o) { found.append((ref, pointer)) }
            for key in o.keys.sorted() { collect(o[key]!, pointer: pointer + "/" + escape(key), into: &found, depth: depth + 1) }
        case .array(let a):
            for (i, element) in a.enumerated() { collect(element, pointer: pointer + "/\(i)", into: &found, depth: depth + 1) }
        default:
            break
        }
    }
}
