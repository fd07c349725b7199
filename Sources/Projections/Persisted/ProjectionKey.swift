import Crypto

/// Row keys made from identifiers a peer or a caller chose (message ids, AS4 MessageIds,
/// actors, subjects), which may be long or empty: LMDB refuses keys over 511 bytes and empty
/// ones, and one refused key would stop a projection for good. A value of 1 to ``maxInline``
/// UTF-8 bytes is its own key (so keys sort and read as the value); any other is `0x01` followed
/// by its SHA-256.
enum ProjectionKey {
    static let maxInline = 256

    static func of(_ value: String) -> [UInt8] { of(bytes: Array(value.utf8)) }

    /// The length of ``of(bytes:)`` of `byteCount` bytes (inline, or 0x01 and a SHA-256).
    static func keyLength(_ byteCount: Int) -> Int { byteCount > 0 && byteCount <= maxInline ? byteCount : 33 }

    /// ``of(_:)`` of text already in UTF-8.
    static func of(bytes: [UInt8]) -> [UInt8] {
        if !bytes.isEmpty, bytes.count <= maxInline { return bytes }
        return [0x01] + Array(SHA256.hash(data: bytes))
    }
}
