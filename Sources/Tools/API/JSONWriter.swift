import Ledger

/// JSON written straight into memory the caller reserved, byte for byte as the API's generated
/// layer writes it (Foundation's `JSONEncoder` with `.sortedKeys`: compact, `/` escaped as `\/`,
/// the short escapes `\b \f \n \r \t`, other control characters as `\u00XX`, everything else as
/// UTF-8). For the hot listings, whose rendering through `Codable` costs more than the rest of
/// the request; `MessagePageJSONTests` holds it to `JSONEncoder`'s output. The caller writes
/// members in sorted key order, and reserves room for what it writes (at most six bytes for
/// each byte of text, see ``escapedBound(_:)``): a write that would pass the end writes nothing
/// and sets ``overflowed``, and the caller writes the whole part again with more room.
struct JSONWriter {
    private let base: UnsafeMutableRawPointer?
    private let capacity: Int
    /// The bytes written.
    private(set) var count = 0
    /// Whether a write did not fit (nothing was written from it on).
    private(set) var overflowed = false

    /// A writer into `memory`, from its start.
    init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress
        capacity = memory.count
    }

    /// The most bytes `count` bytes of text take once escaped (`\u00XX` for a control byte) and quoted.
    static func escapedBound(_ count: Int) -> Int { count * 6 + 2 }

    /// Bytes written as they are (punctuation, member names, fixed values).
    mutating func raw(_ ascii: StaticString) {
        put(UnsafeRawPointer(ascii.utf8Start), ascii.utf8CodeUnitCount)
    }

    /// A JSON string of UTF-8 text (the caller has checked it is UTF-8).
    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        put(UInt8(ascii: "\""))
        escaped(utf8)
        put(UInt8(ascii: "\""))
    }

    /// A JSON string of `a`, `separator` and `b` (a functional address, function@participant).
    mutating func string(_ a: UnsafeBufferPointer<UInt8>, _ separator: UInt8, _ b: UnsafeBufferPointer<UInt8>) {
        put(UInt8(ascii: "\""))
        escaped(a)
        put(separator)
        escaped(b)
        put(UInt8(ascii: "\""))
    }

    /// A JSON string of ASCII bytes that need no escape (a timestamp, hex).
    mutating func plainString(_ ascii: UnsafeBufferPointer<UInt8>) {
        put(UInt8(ascii: "\""))
        put(ascii)
        put(UInt8(ascii: "\""))
    }

    /// A JSON string of `t` in RFC 3339 with milliseconds (`2026-12-04T16:21:40.123Z`).
    mutating func millisecondDate(_ t: Timestamp) {
        t.withRFC3339Bytes(fractionDigits: 3) { plainString($0) }
    }

    /// A decimal integer.
    mutating func int(_ n: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = n.magnitude, at = 20
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            if n < 0 { put(UInt8(ascii: "-")) }
            put(UnsafeBufferPointer(rebasing: digits[at...]))
        }
    }

    mutating func bool(_ b: Bool) {
        if b { raw("true") } else { raw("false") }
    }

    private mutating func put(_ bytes: UnsafeRawPointer, _ n: Int) {
        guard !overflowed, n <= capacity - count, let base else { overflowed = true; return }
        (base + count).copyMemory(from: bytes, byteCount: n)
        count += n
    }

    private mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        put(UnsafeRawPointer(start), bytes.count)
    }

    private mutating func put(_ byte: UInt8) {
        guard !overflowed, count < capacity, let base else { overflowed = true; return }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    private mutating func escaped(_ text: UnsafeBufferPointer<UInt8>) {
        var start = 0
        var i = 0
        let n = text.count
        guard let base = UnsafeRawPointer(text.baseAddress) else { return }
        while i < n {
            // Eight bytes at a time while none needs an escape.
            if n - i >= 8, !Self.needsEscape(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8; continue }
            let b = text[i]
            i += 1
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "/") else { continue }
            if start < i - 1 { put(UnsafeBufferPointer(rebasing: text[start..<(i - 1)])) }
            start = i
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "/"): raw("\\/")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                put(Self.hex[Int(b >> 4)])
                put(Self.hex[Int(b & 0xF)])
            }
        }
        if start < n { put(UnsafeBufferPointer(rebasing: text[start...])) }
    }

    /// Whether any of the eight bytes of `w` is a control character, `"`, `\` or `/` (the
    /// classic test for a zero byte, on `w` and on `w` xor each character).
    static func needsEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        // A byte below 0x20: subtracting 0x20 borrows into its high bit (bytes of 0x80 and above
        // are excluded by ~w).
        let control = (w &- ones &* 0x20) & ~w & highs != 0
        return control || hasZero(w ^ (ones &* 0x22)) || hasZero(w ^ (ones &* 0x5C)) || hasZero(w ^ (ones &* 0x2F))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}
