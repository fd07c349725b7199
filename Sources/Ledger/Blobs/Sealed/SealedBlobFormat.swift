/// The layout of content encrypted at rest (`Schemas/content-at-rest.md`): a 48-byte header —
/// `KVTSEAL1`, the segment size (UInt32, big-endian), 4 zero bytes, a random 32-byte salt — then
/// the content in segments of ``segmentSize`` bytes (the last one shorter, or empty for empty
/// content), each AES-256-GCM-sealed and followed by its 16-byte tag. The key is HKDF-SHA256 of
/// the message's ``DataKey`` with the salt; the nonce is 4 zero bytes and the segment's index
/// (UInt64, big-endian); the authenticated data is the header, the index and a byte that is 1 on
/// the last segment, so segments cannot be reordered, dropped or the content cut short.
///
/// The blob store addresses the ciphertext: the events' hashes cover it, so the ledger and its
/// blobs verify without any key; the tags prove the content itself with the key.
public enum SealedBlobFormat {
    static let magic: [UInt8] = Array("KVTSEAL1".utf8)
    static let headerSize = 48
    static let tagSize = 16
    /// Plaintext bytes per segment.
    public static let segmentSize = 64 << 10
    static let keyInfo = "kvitto sealed blob v1"

    static func header(salt: [UInt8], segmentSize: Int) -> [UInt8] {
        var h = magic
        let s = UInt32(segmentSize)
        h += [UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF), 0, 0, 0, 0]
        return h + salt
    }

    /// The segment size and salt of a header; nil when it is not one.
    static func parse(header h: [UInt8]) -> (segmentSize: Int, salt: [UInt8])? {
        guard h.count == headerSize, Array(h[0..<8]) == magic, h[12..<16].allSatisfy({ $0 == 0 }) else { return nil }
        let s = Int(h[8]) << 24 | Int(h[9]) << 16 | Int(h[10]) << 8 | Int(h[11])
        guard s >= 16, s <= 16 << 20 else { return nil }
        return (s, Array(h[16..<48]))
    }

    static func nonce(_ index: UInt64) -> [UInt8] {
        [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: index >> (56 - 8 * UInt64($0))) }
    }

    static func aad(header: [UInt8], index: UInt64, last: Bool) -> [UInt8] {
        header + (0..<8).map { UInt8(truncatingIfNeeded: index >> (56 - 8 * UInt64($0))) } + [last ? 1 : 0]
    }

    /// The plaintext size of a sealed blob of `sealedSize` bytes written with ``segmentSize``;
    /// nil when no sealed blob has that size.
    public static func plaintextSize(ofSealed sealedSize: Int64, segmentSize: Int = segmentSize) -> Int64? {
        let body = sealedSize - Int64(headerSize)
        let unit = Int64(segmentSize + tagSize)
        guard body >= Int64(tagSize) else { return nil }
        let full = body / unit, rest = body % unit
        if rest == 0 { return full * Int64(segmentSize) }
        guard rest >= Int64(tagSize) else { return nil }
        return full * Int64(segmentSize) + rest - Int64(tagSize)
    }

    /// The sealed size of `plaintextSize` bytes.
    public static func sealedSize(ofPlaintext plaintextSize: Int64, segmentSize: Int = segmentSize) -> Int64 {
        let segments = max(1, (plaintextSize + Int64(segmentSize) - 1) / Int64(segmentSize))
        return Int64(headerSize) + plaintextSize + segments * Int64(tagSize)
    }
}
