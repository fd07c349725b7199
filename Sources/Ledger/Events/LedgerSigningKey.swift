import Crypto
import Foundation

/// An Ed25519 key that signs ledger events and checkpoints.
public struct LedgerSigningKey: Sendable {
    let privateKey: Curve25519.Signing.PrivateKey
    /// The public half.
    public let publicKey: LedgerPublicKey

    /// A fresh random key.
    public init() {
        self.init(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// A key from its 32-byte seed.
    public init(seed: [UInt8]) throws {
        self.init(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: seed))
    }

    init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        self.publicKey = LedgerPublicKey(unchecked: privateKey.publicKey)
    }

    /// The 32-byte seed; keep it secret.
    public var seed: [UInt8] { Array(privateKey.rawRepresentation) }

    /// The key id recorded in every event this key signs.
    public var keyID: String { publicKey.keyID }

    func sign(_ hash: Digest32) -> EventSignature {
        // Signing 32 bytes with a valid key cannot fail in BoringSSL, and its signatures have 64
        // bytes; anything else would be a broken crypto library, where refusing to continue is
        // the only safe answer.
        guard let data = try? hash.withBytes({ try privateKey.signature(for: $0) }),
            let signature = data.withUnsafeBytes({ EventSignature($0) })
        else { preconditionFailure("Ed25519 signing failed") }
        return signature
    }
}

/// The public half of a ledger key.
public struct LedgerPublicKey: Sendable, Hashable {
    let key: Curve25519.Signing.PublicKey
    /// The raw 32-byte public key.
    public let raw: [UInt8]
    /// `hex(SHA-256(raw)[0..<8])`: short, stable, derivable by an auditor.
    public let keyID: String

    init(unchecked key: Curve25519.Signing.PublicKey) {
        self.key = key
        self.raw = Array(key.rawRepresentation)
        self.keyID = Hex.encode(Digest32.sha256(raw).bytes.prefix(8))
    }

    public init(raw: [UInt8]) throws {
        self.init(unchecked: try Curve25519.Signing.PublicKey(rawRepresentation: raw))
    }

    /// Base64 of the raw key, as written in `ledger.created` and `node.key.rotated` payloads.
    public var base64: String { Data(raw).base64EncodedString() }

    public init?(base64: String) {
        guard let d = Data(base64Encoded: base64), let k = try? LedgerPublicKey(raw: Array(d)) else { return nil }
        self = k
    }

    public func isValidSignature(_ signature: [UInt8], for hash: Digest32) -> Bool {
        hash.withBytes { key.isValidSignature(signature, for: $0) }
    }

    public static func == (a: LedgerPublicKey, b: LedgerPublicKey) -> Bool { a.raw == b.raw }
    public func hash(into h: inout Hasher) { h.combine(raw) }
}
