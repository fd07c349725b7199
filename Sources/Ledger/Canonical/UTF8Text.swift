#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Strings from stored bytes that must be valid UTF-8 (event JSON, projection rows).
package enum UTF8Text {
    /// The string of exactly these bytes, or nil when they are not valid UTF-8.
    ///
    /// Through the standard library's specialised UTF-8 path, which repairs invalid input, then
    /// compared with the input: a repaired string differs from its bytes. (`String(validating:)`
    /// takes a generic, unspecialised path that cost a tenth of a mailbox page.)
    package static func exact(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var s = String(decoding: bytes, as: UTF8.self)
        return s.withUTF8 { out in
            out.count == bytes.count && (bytes.isEmpty || memcmp(out.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        } ? s : nil
    }

    /// Whether `bytes` are well-formed UTF-8 (Unicode's table 3-7: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), checked in place.
    package static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        guard let base = UnsafeRawPointer(bytes.baseAddress) else { return true }
        while i < n {
            // Eight ASCII bytes at a time (no byte with its high bit set).
            if n - i >= 8, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            // The first continuation byte's range depends on the lead; the others are 80...BF.
            let length: Int, low: UInt8, high: UInt8
            switch b {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            default: return false
            }
            guard n - i >= length, (low...high).contains(bytes[i + 1]) else { return false }
            for k in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[i + k]) { return false }
            i += length
        }
        return true
    }
}
