import COpenSSL
import Foundation

/// A SHA-256 value (32 bytes), written as lowercase hex. Stored inline (no heap allocation), as
/// the append and verification paths handle several per event.
public struct Digest32: Sendable, Hashable, CustomStringConvertible {
    private var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// The 32 bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: self) { Array($0) }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.init(unchecked: bytes)
    }

    init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 value has 32 bytes")
        (w0, w1, w2, w3) = (0, 0, 0, 0)
        bytes.withUnsafeBytes { src in
            withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: src) }
        }
    }

    init(_ raw: UnsafeRawBufferPointer) {
        (w0, w1, w2, w3) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<32])) }
    }

    /// 32 zero bytes: the `prev` of the first event.
    public static let zero = Digest32(unchecked: [UInt8](repeating: 0, count: 32))

    public init?(hex: String) {
        guard let b = Hex.decode(hex), b.count == 32 else { return nil }
        self.init(unchecked: b)
    }

    /// SHA-256 of `data`.
    ///
    /// Computed with libcrypto's SHA-256 into the value itself: no allocation per hash, which
    /// matters on the append path (three hashes per event) — see COpenSSL/shim.h.
    public static func sha256(_ data: [UInt8]) -> Digest32 {
        data.withUnsafeBytes { sha256($0) }
    }

    /// SHA-256 of the bytes in `data`.
    static func sha256(_ data: UnsafeRawBufferPointer) -> Digest32 {
        var d = Digest32.zeroValue
        withUnsafeMutableBytes(of: &d) { out in
            kvitto_sha256(data.baseAddress, data.count, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return d
    }

    /// SHA-256 of `prefix ‖ a ‖ b` (RFC 6962 leaf and node hashing) without building the input.
    static func sha256(prefix: UInt8, _ a: Digest32, _ b: Digest32? = nil) -> Digest32 {
        var d = Digest32.zeroValue
        withUnsafeMutableBytes(of: &d) { out in
            let o = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            withUnsafeBytes(of: a) { a in
                let ap = a.baseAddress!.assumingMemoryBound(to: UInt8.self)
                if let b {
                    withUnsafeBytes(of: b) { b in
                        kvitto_sha256_merkle(prefix, ap, b.baseAddress!.assumingMemoryBound(to: UInt8.self), o)
                    }
                } else {
                    kvitto_sha256_merkle(prefix, ap, nil, o)
                }
            }
        }
        return d
    }

    private static var zeroValue: Digest32 { Digest32(w0: 0, w1: 0, w2: 0, w3: 0) }

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// Calls `body` with the 32 bytes, without copying them to the heap.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try withUnsafeBytes(of: self, body)
    }

    public var hex: String { withUnsafeBytes(of: self) { Hex.encode($0) } }
    public var description: String { hex }
}

/// Lowercase hexadecimal.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase or uppercase hex; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
