import Foundation
import Identity

/// `application/x-www-form-urlencoded` fields: a POSTed form or a query string. `+` is a space,
/// `%XX` a byte; a field whose bytes are not UTF-8 after decoding, or a malformed escape, makes
/// the whole form unreadable (nil). The first of repeated names counts.
struct ConsoleForm: Sendable {
    private(set) var fields: [(name: String, value: String)] = []

    /// At most this many fields are read.
    static let maxFields = 64

    init?(_ encoded: Substring) {
        guard !encoded.isEmpty else { return }
        let pairs = encoded.split(separator: "&", omittingEmptySubsequences: true)
        guard pairs.count <= Self.maxFields else { return nil }
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else { return nil }
            fields.append((name, value))
        }
    }

    init() {}

    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// A field's value, trimmed, or nil when absent or blank.
    func text(_ name: String) -> String? {
        guard let v = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    private static func decode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            let b = u[i]
            if b == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if b == UInt8(ascii: "%") {
                let h = u.index(after: i)
                guard h < u.endIndex, u.index(after: h) < u.endIndex,
                      let hi = hex(u[h]), let lo = hex(u[u.index(after: h)]) else { return nil }
                bytes.append(hi << 4 | lo)
                i = u.index(after: h)
            } else {
                bytes.append(b)
            }
            i = u.index(after: i)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// `text` percent-encoded for a query string or form value (unreserved characters as they are).
    static func encode(_ text: String) -> String { FormEncoding.encode(text) }

    /// A query string of `fields` (those with a value).
    static func query(_ fields: [(String, String?)]) -> String {
        let kept = fields.compactMap { f in f.1.map { ConsoleForm.encode(f.0) + "=" + ConsoleForm.encode($0) } }
        return kept.isEmpty ? "" : "?" + kept.joined(separator: "&")
    }
}
