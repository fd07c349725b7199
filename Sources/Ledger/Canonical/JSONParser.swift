/// Why a JSON text was refused.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case syntax = "syntax"
        case notAnInteger = "non_integer_number"
        case integerOutOfRange = "integer_out_of_range"
        case duplicateKey = "duplicate_key"
        case tooDeep = "too_deep"
        case invalidUTF8 = "invalid_utf8"
        case invalidEscape = "invalid_escape"
        case trailingData = "trailing_data"
        case notCanonical = "not_canonical"
    }
    public let reason: Reason
    /// Byte offset where the problem was found.
    public let offset: Int

    public var description: String {
        switch reason {
        case .notAnInteger:
            return "JSON number at byte \(offset) is not an integer; Kvitto's canonical form carries decimals as strings"
        case .integerOutOfRange:
            return "JSON integer at byte \(offset) exceeds ±(2^53−1); carry large numbers as strings"
        case .duplicateKey: return "duplicate object member name at byte \(offset)"
        case .tooDeep: return "JSON nesting deeper than the limit at byte \(offset)"
        case .invalidUTF8: return "invalid UTF-8 at byte \(offset)"
        case .invalidEscape: return "invalid string escape at byte \(offset)"
        case .trailingData: return "unexpected data after the JSON value at byte \(offset)"
        case .notCanonical: return "the JSON text is not in RFC 8785 canonical form at byte \(offset)"
        case .syntax: return "JSON syntax error at byte \(offset)"
        }
    }
}

/// A strict JSON parser for Kvitto's JSON subset (see ``JSONValue``): rejects duplicate member
/// names, non-integer numbers, unsafe integers, invalid UTF-8, lone surrogates and deep nesting.
public struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maxDepth = 64

    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        try parse(Array(bytes), canonical: false)
    }

    /// Parses `bytes` and requires them to be exactly the RFC 8785 canonical form of the value
    /// (no white space, members in UTF-16 order, minimal escapes), checked while parsing.
    public static func parseCanonical(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try parse(bytes, canonical: true)
    }

    static func parse(_ array: [UInt8], canonical: Bool) throws(JSONParseError) -> JSONValue {
        return try array.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var parser = Cursor(bytes: buffer, canonical: canonical)
            try parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            try parser.skipWhitespace()
            if parser.position != buffer.count { throw JSONParseError(reason: .trailingData, offset: parser.position) }
            return value
        }
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        let canonical: Bool
        var position = 0


        init(bytes: UnsafeBufferPointer<UInt8>, canonical: Bool = false) {
            self.bytes = bytes
            self.canonical = canonical
        }

        mutating func notCanonical() throws(JSONParseError) {
            if canonical { throw JSONParseError(reason: .notCanonical, offset: position) }
        }

        func fail(_ reason: JSONParseError.Reason) -> JSONParseError {
            JSONParseError(reason: reason, offset: position)
        }

        mutating func skipWhitespace() throws(JSONParseError) {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D:
                    try notCanonical()
                    position += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString) throws(JSONParseError) {
            let n = literal.utf8CodeUnitCount
            guard position + n <= bytes.count else { throw fail(.syntax) }
            let lit = UnsafeBufferPointer(start: literal.utf8Start, count: n)
            for i in 0..<n where bytes[position + i] != lit[i] { throw fail(.syntax) }
            position += n
        }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard position < bytes.count else { throw fail(.syntax) }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                guard depth < JSONParser.maxDepth else { throw fail(.tooDeep) }
                position += 1
                var object: [String: JSONValue] = [:]
                var lastKey: String?
                try skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
                while true {
                    try skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail(.syntax) }
                    let keyOffset = position
                    let key = try string()
                    if canonical, let last = lastKey, !CanonicalJSON.utf16Precedes(last, key) {
                        throw JSONParseError(reason: .notCanonical, offset: keyOffset)
                    }
                    lastKey = key
                    try skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail(.syntax) }
                    position += 1
                    try skipWhitespace()
                    let v = try value(depth: depth + 1)
                    if object.updateValue(v, forKey: key) != nil {
                        throw JSONParseError(reason: .duplicateKey, offset: keyOffset)
                    }
                    try skipWhitespace()
                    guard position < bytes.count else { throw fail(.syntax) }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
                    throw fail(.syntax)
                }
            case UInt8(ascii: "["):
                guard depth < JSONParser.maxDepth else { throw fail(.tooDeep) }
                position += 1
                var array: [JSONValue] = []
                try skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(array) }
                while true {
                    try skipWhitespace()
                    array.append(try value(depth: depth + 1))
                    try skipWhitespace()
                    guard position < bytes.count else { throw fail(.syntax) }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(array) }
                    throw fail(.syntax)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .int(try integer())
            default:
                throw fail(.syntax)
            }
        }

        mutating func integer() throws(JSONParseError) -> Int64 {
            let start = position
            var negative = false
            if bytes[position] == UInt8(ascii: "-") {
                negative = true
                position += 1
                if canonical, position < bytes.count, bytes[position] == UInt8(ascii: "0") { try notCanonical() }
            }
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                throw fail(.syntax)
            }
            if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position + 1])
            {
                throw fail(.syntax)  // leading zero
            }
            var magnitude: Int64 = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                let digit = Int64(bytes[position] - UInt8(ascii: "0"))
                if magnitude > (JSONValue.maxSafeInteger - digit) / 10 {
                    throw JSONParseError(reason: .integerOutOfRange, offset: start)
                }
                magnitude = magnitude * 10 + digit
                position += 1
            }
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
                throw JSONParseError(reason: .notAnInteger, offset: start)
            }
            return negative ? -magnitude : magnitude
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail(.invalidEscape) }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[position]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail(.invalidEscape)
                }
                v = v << 4 | d
                position += 1
            }
            return v
        }

        /// Parses a string starting at the opening quote.
        mutating func string() throws(JSONParseError) -> String {
            position += 1
            var out: [UInt8] = []
            var runStart = position
            while true {
                guard position < bytes.count else { throw fail(.syntax) }
                let c = bytes[position]
                if c == UInt8(ascii: "\"") {
                    // Every escape leaves bytes in `out`, so an empty `out` means none was seen.
                    if out.isEmpty {
                        // No escape: the string is these bytes (most are; one copy, not two).
                        let run = UnsafeBufferPointer(rebasing: bytes[runStart..<position])
                        position += 1
                        guard let s = JSONParser.exactUTF8(run) else { throw fail(.invalidUTF8) }
                        return s
                    }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                    position += 1
                    break
                }
                if c < 0x20 { throw fail(.syntax) }
                if c == UInt8(ascii: "\\") {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                    position += 1
                    guard position < bytes.count else { throw fail(.invalidEscape) }
                    let e = bytes[position]
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"):
                        try notCanonical()
                        out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        let escapeStart = position
                        var scalar = try hex4()
                        // Canonical: \u only for control characters without a short form, lowercase.
                        if canonical {
                            let shortForm: Set<UInt32> = [0x08, 0x09, 0x0A, 0x0C, 0x0D]
                            let lower = bytes[escapeStart..<escapeStart + 4].allSatisfy { !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }
                            if scalar >= 0x20 || shortForm.contains(scalar) || !lower { try notCanonical() }
                        }
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                bytes[position + 1] == UInt8(ascii: "u")
                            else { throw fail(.invalidEscape) }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail(.invalidEscape) }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw fail(.invalidEscape)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail(.invalidEscape) }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default:
                        throw fail(.invalidEscape)
                    }
                    runStart = position
                    continue
                }
                position += 1
            }
            guard let s = out.withUnsafeBufferPointer(JSONParser.exactUTF8) else { throw fail(.invalidUTF8) }
            return s
        }
    }

    /// The string of exactly these bytes, or nil when they are not valid UTF-8 (``UTF8Text/exact(_:)``).
    static func exactUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> String? { UTF8Text.exact(bytes) }
}
