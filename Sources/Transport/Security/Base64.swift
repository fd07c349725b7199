/// Base64 as XML carries it (RFC 4648 alphabet, whitespace allowed between characters), encoded
/// and decoded without intermediate copies (payloads are megabytes).
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    package static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the encoding of `bytes` to `out`.
    package static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        let n = bytes.count
        let start = out.count
        let length = (n + 2) / 3 * 4
        out.append(contentsOf: repeatElement(0, count: length))
        alphabet.withUnsafeBufferPointer { a in
            bytes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    var i = 0
                    var o = start
                    while i + 3 <= n {
                        let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                        dst[o] = a[Int(v >> 18 & 63)]
                        dst[o + 1] = a[Int(v >> 12 & 63)]
                        dst[o + 2] = a[Int(v >> 6 & 63)]
                        dst[o + 3] = a[Int(v & 63)]
                        i += 3
                        o += 4
                    }
                    if n - i >= 1 {
                        let v = UInt32(src[i]) << 16 | (n - i == 2 ? UInt32(src[i + 1]) << 8 : 0)
                        dst[o] = a[Int(v >> 18 & 63)]
                        dst[o + 1] = a[Int(v >> 12 & 63)]
                        dst[o + 2] = n - i == 2 ? a[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                        dst[o + 3] = UInt8(ascii: "=")
                    }
                }
            }
        }
    }

    /// Decodes, ignoring XML whitespace; nil when any other character is outside the alphabet or
    /// the padding is wrong.
    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    /// Decodes UTF-8/ASCII bytes (see ``decode(_:)-(String)``).
    package static func decode(_ src: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: src.count / 4 * 3 + 3)
        var written = 0
        let ok: Bool = values.withUnsafeBufferPointer { table in
            out.withUnsafeMutableBufferPointer { dst in
                var quad: UInt32 = 0
                var count = 0
                var padding = 0
                for b in src {
                    if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { continue }
                    if b == UInt8(ascii: "=") {
                        padding += 1
                        if padding > 2 { return false }
                        quad <<= 6
                    } else {
                        let v = table[Int(b)]
                        if v == 0xFF || padding != 0 { return false }
                        quad = quad << 6 | UInt32(v)
                    }
                    count += 1
                    if count == 4 {
                        dst[written] = UInt8(truncatingIfNeeded: quad >> 16)
                        written += 1
                        if padding < 2 { dst[written] = UInt8(truncatingIfNeeded: quad >> 8); written += 1 }
                        if padding < 1 { dst[written] = UInt8(truncatingIfNeeded: quad); written += 1 }
                        quad = 0
                        count = 0
                    }
                }
                return count == 0
            }
        }
        guard ok else { return nil }
        out.removeLast(out.count - written)
        return out
    }
}
