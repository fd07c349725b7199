package import Foundation

/// One JSON value in a token's header, payload or an issuer's metadata, as received: numbers stay
/// `Double` (a NumericDate may carry a fraction), nothing is coerced.
package enum ClaimValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ClaimValue])
    case object([String: ClaimValue])

    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ClaimValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ClaimValue].self)) }
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    package var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    package var number: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    /// A string, or every string of an array of strings (multi-valued claims such as `amr`,
    /// `aud` or an organisational affiliation); nil for anything else.
    package var strings: [String]? {
        switch self {
        case .string(let s): return [s]
        case .array(let a):
            let s = a.compactMap(\.string)
            return s.count == a.count ? s : nil
        default: return nil
        }
    }

    package subscript(key: String) -> ClaimValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Decodes a JSON document of at most `limit` bytes.
    package static func parse(_ data: Data, limit: Int) -> ClaimValue? {
        guard data.count <= limit else { return nil }
        return try? JSONDecoder().decode(ClaimValue.self, from: data)
    }
}
