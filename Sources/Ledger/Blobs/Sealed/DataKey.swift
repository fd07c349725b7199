import Crypto
import Foundation

/// The key that encrypts one message's content at rest (AES-256): random, used for that message
/// only, and stored only wrapped by a ``KeyEncryptionKey`` (``WrappedDataKey``). Destroying every
/// wrapped copy makes the content unrecoverable (crypto-shredding).
public struct DataKey: Sendable {
    let key: SymmetricKey

    /// A new random key.
    public static func random() -> DataKey { DataKey(key: SymmetricKey(size: .bits256)) }

    /// A key from its 32 bytes (an evidence bundle hands them out for one message).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
    }

    init(key: SymmetricKey) { self.key = key }

    /// The 32 bytes; only for an evidence bundle whose reader was granted the content.
    public var bytes: [UInt8] { key.withUnsafeBytes { Array($0) } }

    /// A commitment to this key, recorded in the events beside the wrapped key: HMAC-SHA256 keyed
    /// with it over `kvitto data key check v1`, in hex. It tells nothing of the key or the content,
    /// and lets anyone handed the key (an evidence bundle) confirm it is the one the message's
    /// content was sealed under when it was stored.
    public var check: String {
        HMAC<SHA256>.authenticationCode(for: Array("kvitto data key check v1".utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// The key of one sealed blob: HKDF-SHA256 of this key with the blob's random salt, so that
    /// the blobs of one message never share a key and a nonce.
    func blobKey(salt: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: salt, info: Array(SealedBlobFormat.keyInfo.utf8), outputByteCount: 32)
    }
}

extension DataKey {
    /// Seals a small message in memory (AES-256-GCM): a random 12-byte nonce, the ciphertext and
    /// the tag; `context` is authenticated, not stored. For content that waits outside the blob
    /// store (a submission request in the node's spool).
    public func seal(_ bytes: [UInt8], context: [UInt8]) throws(LedgerError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(bytes, using: key, nonce: AES.GCM.Nonce(), authenticating: context)
            return Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw LedgerError(.blobIO, "encrypting failed: \(error)")
        }
    }

    /// Opens what ``seal(_:context:)`` made with the same `context`.
    public func open(_ sealed: [UInt8], context: [UInt8]) throws(LedgerError) -> [UInt8] {
        guard sealed.count >= 28 else { throw LedgerError(.blobCorrupt, "the sealed bytes are cut short") }
        do {
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: sealed[0..<12]), ciphertext: sealed[12..<(sealed.count - 16)],
                                            tag: sealed[(sealed.count - 16)...])
            return Array(try AES.GCM.open(box, using: key, authenticating: context))
        } catch {
            throw LedgerError(.blobCorrupt, "the sealed bytes do not open: altered, or sealed under another key")
        }
    }
}
