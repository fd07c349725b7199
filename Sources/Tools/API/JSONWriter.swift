import NIOCore

/// JSON written straight into bytes, byte for byte as the API's generated layer writes it
/// (Foundation's `JSONEncoder` with `.sortedKeys`: compact, `/` escaped as `\/`, the short
/// escapes `\b \f \n \r \t`, other control characters as `\u00XX`, everything else as UTF-8).
/// For the hot listings, whose rendering through `Codable` costs more than the rest of the
/// request; `JSONWriterTests` holds it to `JSONEncoder`'s output. The caller writes members in
/// sorted key order.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// The bytes as a buffer to send.
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// Bytes written as they are (punctuation, member names, fixed values).
    mutating func raw(_ ascii: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }

    /// A JSON string of UTF-8 text (the caller has checked it is UTF-8).
    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        escaped(utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string of `a`, `separator` and `b` (a functional address, function@participant).
    mutating func string(_ a: UnsafeBufferPointer<UInt8>, _ separator: UInt8, _ b: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        escaped(a)
        bytes.append(separator)
        escaped(b)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string of ASCII bytes that need no escape (a timestamp, hex).
    mutating func plainString(_ ascii: some Collection<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: ascii)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func int(_ n: Int) {
        bytes.append(contentsOf: String(n).utf8)
    }

    mutating func bool(_ b: Bool) {
        if b { raw("true") } else { raw("false") }
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
            if start < i - 1 { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<(i - 1)])) }
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
                bytes.append(Self.hex[Int(b >> 4)])
                bytes.append(Self.hex[Int(b & 0xF)])
            }
        }
        if start < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...])) }
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
