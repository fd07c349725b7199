import Crypto
import Foundation

/// A message's ``DataKey`` wrapped by its participant's ``KeyEncryptionKey``, as stored in the
/// blob store (its own blob, so that erasing it — `blob.erased` — destroys the key and with it
/// every copy of the content, crypto-shredding): `KVTDEK01`, the KEK's id (16 bytes), a random
/// 12-byte nonce, and the AES-256-GCM encryption of the 32-byte key with its tag; the
/// authenticated data is the first 24 bytes and the context (participant and message id), so a
/// wrapped key opens only for the message it was made for.
public enum WrappedDataKey {
    static let magic: [UInt8] = Array("KVTDEK01".utf8)
    /// The size of a wrapped key.
    public static let size = 8 + 16 + 12 + 32 + 16

    static func context(participant: String, message: String) -> [UInt8] {
        Array("\(participant)\u{0}\(message)".utf8)
    }

    /// Wraps `dataKey` for `message` of `participant`.
    public static func wrap(_ dataKey: DataKey, with kek: KeyEncryptionKey, participant: String, message: String) throws(LedgerError) -> [UInt8] {
        let head = magic + idBytes(kek.id)
        do {
            let box = try AES.GCM.seal(dataKey.bytes, using: kek.key, nonce: AES.GCM.Nonce(),
                                       authenticating: head + context(participant: participant, message: message))
            return head + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw LedgerError(.blobIO, "wrapping the content key failed: \(error)")
        }
    }

    /// The id of the KEK that wrapped `wrapped` (hex); nil when it is not a wrapped key.
    public static func kekID(of wrapped: [UInt8]) -> String? {
        guard wrapped.count == size, Array(wrapped[0..<8]) == magic else { return nil }
        return wrapped[8..<24].map { String(format: "%02x", $0) }.joined()
    }

    /// Unwraps the key of `message` of `participant`.
    public static func unwrap(_ wrapped: [UInt8], with kek: KeyEncryptionKey, participant: String, message: String) throws(LedgerError) -> DataKey {
        guard let id = kekID(of: wrapped) else {
            throw LedgerError(.blobCorrupt, "the stored content key of \(message) is not a wrapped key")
        }
        guard id == kek.id else {
            throw LedgerError(.contentKeyUnavailable, "the content of \(message) was encrypted under key-encryption key \(id); the key file holds \(kek.id) — install the key \(id)")
        }
        do {
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: wrapped[24..<36]), ciphertext: wrapped[36..<68], tag: wrapped[68..<84])
            let key = try AES.GCM.open(box, using: kek.key, authenticating: Array(wrapped[0..<24]) + context(participant: participant, message: message))
            return DataKey(bytes: Array(key))!
        } catch {
            throw LedgerError(.blobCorrupt, "the stored content key of \(message) does not open with key-encryption key \(id): it was altered or belongs to another message")
        }
    }

    private static func idBytes(_ hex: String) -> [UInt8] {
        let u = Array(hex.utf8)
        return stride(from: 0, to: u.count, by: 2).map { UInt8(String(decoding: u[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }
}
