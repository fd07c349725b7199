import COpenSSL
package import Crypto

/// An RSA private key held by OpenSSL's libcrypto, for the two private-key operations the AS4 and
/// SDK profiles need: RSASSA-PKCS1-v1_5 signatures with SHA-256 and RSAES-OAEP key unwrapping.
///
/// Why OpenSSL and not swift-crypto's BoringSSL for these: OpenSSL 3 multiplies with the CPU's
/// AVX-512 IFMA instructions where there are some, which doubles its RSA-2048 private-key rate over
/// BoringSSL's on such machines (5,123 against 2,429 signatures/s on one core of the reference
/// machine), and it is not slower elsewhere. `kvitto bench` measures both in every run that reports
/// an RSA-bound limit. Public-key operations (verification, encryption to a recipient) stay with
/// swift-crypto: one costs about a fifteenth of a private-key operation, a negligible share of a
/// message. The key is parsed once, when its ``SigningIdentity`` is made; blinding is OpenSSL's
/// default.
package final class RSAPrivateKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is created in init, never modified afterwards and freed in deinit.
    // Every operation makes its own EVP_PKEY_CTX (which takes its own reference to the key), the
    // use openssl-threads(7) names as safe from any number of threads at once ("two threads can
    // calculate a signature using two different EVP_PKEY_CTX objects"); what OpenSSL caches inside
    // the key on first use (its provider export, RSA blinding) it guards with the key's own lock.
    private let key: OpaquePointer
    /// Bytes in a signature or ciphertext of this key (256 for RSA-2048).
    package let byteCount: Int

    /// The OAEP digest (used both for the label hash and for MGF1).
    package enum OAEPDigest: Sendable {
        /// SHA-1 for both: RFC 8017's default and XML-Enc's `rsa-oaep-mgf1p`.
        case sha1
        /// SHA-256 for both: XML-Enc 1.1's `rsa-oaep` with `mgf1sha256`, the SDK profile's choice.
        case sha256
    }

    /// Parses a PKCS#1 `RSAPrivateKey` or PKCS#8 `PrivateKeyInfo` DER encoding of an RSA key of at
    /// least 2048 bits.
    package init(derRepresentation der: [UInt8]) throws(XMLSecurityError) {
        guard !der.isEmpty, let key = der.withUnsafeBufferPointer({ kvitto_rsa_private_from_der($0.baseAddress, $0.count) }) else {
            throw .keyUnusable("OpenSSL does not accept the private key: not a DER RSA key of at least 2048 bits")
        }
        self.key = key
        self.byteCount = Int(kvitto_rsa_size(key))
    }

    deinit { EVP_PKEY_free(key) }

    /// The RSASSA-PKCS1-v1_5 signature of a SHA-256 digest (OpenSSL builds the DigestInfo).
    package func signature(forSHA256 digest: SHA256.Digest) throws(XMLSecurityError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length = out.count
        let ok = digest.withUnsafeBytes { d in
            out.withUnsafeMutableBufferPointer { o in
                kvitto_rsa_sign_sha256(key, d.bindMemory(to: UInt8.self).baseAddress, o.baseAddress, &length)
            }
        }
        guard ok == 1, length == byteCount else { throw .keyUnusable("RSA signing failed in OpenSSL") }
        return out
    }

    /// RSAES-OAEP decryption without a label. Every failure (wrong key, altered ciphertext, bad
    /// padding) is the same error, whatever its cause.
    package func decrypt(oaep ciphertext: [UInt8], digest: OAEPDigest) throws(XMLSecurityError) -> [UInt8] {
        guard ciphertext.count == byteCount else {
            throw .decryptionFailed("the encrypted key has \(ciphertext.count) bytes; this key's ciphertexts have \(byteCount)")
        }
        var out = [UInt8](repeating: 0, count: byteCount)
        var length = out.count
        let ok = ciphertext.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                kvitto_rsa_oaep_decrypt(key, digest == .sha256 ? 1 : 0, c.baseAddress, c.count, o.baseAddress, &length)
            }
        }
        guard ok == 1, length <= byteCount else { throw .decryptionFailed("RSA-OAEP decryption failed") }
        out.removeSubrange(length...)
        return out
    }
}
