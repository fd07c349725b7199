import Crypto
package import _CryptoExtras
package import X509
import SwiftASN1
import Foundation

/// XML-Enc of the XHE payload (Type Element) for the SDK envelope profile: a fresh content key
/// per message, encrypted to the recipient organisation's O2O certificate.
///
/// Emits AES-256-CBC with `rsa-oaep-mgf1p` (the profile) by default; decrypts those and
/// AES-128/256-GCM with xmlenc11 `rsa-oaep` (SHA-256, MGF1-SHA-256). Anything else is refused.
package enum XMLEncryption {
    /// Data encryption choices.
    package enum DataAlgorithm: Sendable {
        case aes256CBC, aes128GCM, aes256GCM

        var uri: String {
            switch self {
            case .aes256CBC: XMLSecurityAlgorithm.aes256CBC
            case .aes128GCM: XMLSecurityAlgorithm.aes128GCM
            case .aes256GCM: XMLSecurityAlgorithm.aes256GCM
            }
        }

        var keyBytes: Int { self == .aes128GCM ? 16 : 32 }
    }

    /// Key transport choices.
    package enum KeyTransport: Sendable {
        /// `rsa-oaep-mgf1p`: OAEP with SHA-1 and MGF1-SHA-1 (the SDK profile).
        case rsaOAEPMGF1P
        /// xmlenc11 `rsa-oaep` with SHA-256 and MGF1-SHA-256.
        case rsaOAEPSHA256
    }

    /// Encrypts `plaintext` (a serialized element) to `recipient`.
    package static func encrypt(_ plaintext: [UInt8], to recipient: Certificate, data: DataAlgorithm = .aes256CBC,
                                keyTransport: KeyTransport = .rsaOAEPMGF1P) throws(XMLSecurityError) -> EncryptedData {
        guard let publicKey = ParsedCertificates.rsaEncryptionKey(recipient) else {
            throw .keyUnusable("the recipient certificate has no RSA key")
        }
        let key = SymmetricKey(size: data.keyBytes == 16 ? .bits128 : .bits256)
        let ciphertext: [UInt8]
        do {
            switch data {
            case .aes256CBC:
                var iv = [UInt8](repeating: 0, count: 16)
                var rng = SystemRandomNumberGenerator()
                for i in 0..<16 { iv[i] = rng.next() }
                // PKCS#7 padding is a valid instance of XML-Enc's padding (last byte = length).
                let body = try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv))
                var out = iv
                out.reserveCapacity(16 + body.count)
                out.append(contentsOf: body)
                ciphertext = out
            case .aes128GCM, .aes256GCM:
                let sealed = try AES.GCM.seal(plaintext, using: key)
                var out = Array(sealed.nonce)
                out.reserveCapacity(12 + sealed.ciphertext.count + 16)
                out.append(contentsOf: sealed.ciphertext)
                out.append(contentsOf: sealed.tag)
                ciphertext = out
            }
        } catch { throw .keyUnusable("content encryption failed: \(error)") }
        let keyBytes = key.withUnsafeBytes { Array($0) }
        let wrapped: [UInt8]
        do {
            switch keyTransport {
            case .rsaOAEPMGF1P: wrapped = Array(try publicKey.encrypt(keyBytes, padding: .PKCS1_OAEP))
            case .rsaOAEPSHA256: wrapped = Array(try publicKey.encrypt(keyBytes, padding: .PKCS1_OAEP_SHA256))
            }
        } catch { throw .keyUnusable("key transport failed: \(error)") }
        var der = DER.Serializer()
        do { try der.serialize(recipient) } catch { throw .keyUnusable("recipient certificate: \(error)") }
        let transport: EncryptedData.EncryptedKey = switch keyTransport {
        case .rsaOAEPMGF1P:
            .init(algorithm: XMLSecurityAlgorithm.rsaOAEPMGF1P, digestMethod: XMLSecurityAlgorithm.sha1, mgf: nil,
                  recipientCertificate: der.serializedBytes, cipherValue: wrapped)
        case .rsaOAEPSHA256:
            .init(algorithm: XMLSecurityAlgorithm.rsaOAEP, digestMethod: XMLSecurityAlgorithm.sha256,
                  mgf: XMLSecurityAlgorithm.mgf1SHA256, recipientCertificate: der.serializedBytes, cipherValue: wrapped)
        }
        return EncryptedData(algorithm: data.uri, encryptedKey: transport, cipherValue: ciphertext)
    }

    /// Decrypts with our private key; returns the serialized element.
    package static func decrypt(_ encrypted: EncryptedData, with identity: SigningIdentity) throws(XMLSecurityError)
        -> [UInt8]
    {
        if let type = encrypted.type, type != XMLSecurityAlgorithm.typeElement, type != XMLSecurityAlgorithm.typeContent {
            throw .unsupportedAlgorithm(type)
        }
        let k = encrypted.encryptedKey
        let padding: RSAPrivateKey.OAEPDigest
        switch (k.algorithm, k.digestMethod ?? XMLSecurityAlgorithm.sha1, k.mgf) {
        case (XMLSecurityAlgorithm.rsaOAEPMGF1P, XMLSecurityAlgorithm.sha1, nil):
            padding = .sha1
        case (XMLSecurityAlgorithm.rsaOAEP, XMLSecurityAlgorithm.sha1, nil),
             (XMLSecurityAlgorithm.rsaOAEP, XMLSecurityAlgorithm.sha1, XMLSecurityAlgorithm.mgf1SHA1?):
            padding = .sha1
        case (XMLSecurityAlgorithm.rsaOAEP, XMLSecurityAlgorithm.sha256, XMLSecurityAlgorithm.mgf1SHA256?):
            padding = .sha256
        default:
            throw .unsupportedAlgorithm("\(k.algorithm) digest \(k.digestMethod ?? "sha1") mgf \(k.mgf ?? "mgf1sha1")")
        }
        let keyBytes: [UInt8]
        do { keyBytes = try identity.decrypt(oaep: Array(k.cipherValue), digest: padding) } catch {
            throw .decryptionFailed("the content key does not decrypt with our key (encrypted to another certificate?)")
        }
        let key = SymmetricKey(data: keyBytes)
        let c = encrypted.cipherValue
        switch encrypted.algorithm {
        case XMLSecurityAlgorithm.aes256CBC:
            guard keyBytes.count == 32 else { throw .decryptionFailed("AES-256 needs a 32-byte key, got \(keyBytes.count)") }
            guard c.count >= 32, c.count % 16 == 0 else { throw .decryptionFailed("AES-CBC ciphertext has a bad length") }
            let plain: Data
            do {
                plain = try AES._CBC.decrypt(c[16...], using: key, iv: AES._CBC.IV(ivBytes: c[..<16]), noPadding: true)
            } catch { throw .decryptionFailed("AES-CBC: \(error)") }
            // XML-Enc padding: the last byte is the pad length (1…16); the other pad bytes are arbitrary.
            guard let pad = plain.last, pad >= 1, pad <= 16, Int(pad) <= plain.count else {
                throw .decryptionFailed("AES-CBC padding is invalid (wrong key or corrupted ciphertext)")
            }
            return [UInt8](plain.prefix(plain.count - Int(pad)))
        case XMLSecurityAlgorithm.aes128GCM, XMLSecurityAlgorithm.aes256GCM:
            let expected = encrypted.algorithm == XMLSecurityAlgorithm.aes128GCM ? 16 : 32
            guard keyBytes.count == expected else { throw .decryptionFailed("AES-GCM key length \(keyBytes.count) ≠ \(expected)") }
            guard c.count >= 28 else { throw .decryptionFailed("AES-GCM ciphertext too short") }
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: c[..<12]), ciphertext: c[12..<(c.count - 16)],
                                                tag: c[(c.count - 16)...])
                return Array(try AES.GCM.open(box, using: key))
            } catch { throw .decryptionFailed("AES-GCM authentication failed (wrong key or altered ciphertext)") }
        default:
            throw .unsupportedAlgorithm(encrypted.algorithm)
        }
    }
}
