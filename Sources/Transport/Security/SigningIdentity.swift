package import Crypto
package import _CryptoExtras
package import X509
import Foundation

/// An RSA private key with its certificate (and optional chain), used to sign and to decrypt.
///
/// The key is held twice, both parsed once here: by swift-crypto (``privateKey``: issuing
/// certificates, comparing public keys) and by OpenSSL (``sign(sha256:)`` and
/// ``decrypt(oaep:digest:)``: the private-key operations of every message, on the faster library;
/// see ``RSAPrivateKey``).
package struct SigningIdentity: Sendable {
    package let privateKey: _RSA.Signing.PrivateKey
    package let certificate: Certificate
    /// Intermediates sent along in KeyInfo.
    package let chain: [Certificate]
    /// The same key in OpenSSL, for signing and decryption.
    private let operations: RSAPrivateKey

    package init(privateKey: _RSA.Signing.PrivateKey, certificate: Certificate, chain: [Certificate] = []) throws(XMLSecurityError) {
        self.privateKey = privateKey
        self.certificate = certificate
        self.chain = chain
        self.operations = try RSAPrivateKey(derRepresentation: Array(privateKey.derRepresentation))
    }

    /// Loads a private key and its certificate chain (see ``CredentialFile``): a PEM key with a
    /// PEM/DER certificate file, a PEM bundle, or a PKCS#12 file opened with `password`; with
    /// `certificatePath` nil or the key's own path, the certificates come from the key's file.
    package init(keyPath: String, certificatePath: String?, password: String? = nil) throws(XMLSecurityError) {
        let file = try CredentialFile(keyPath: keyPath, certificatePath: certificatePath, password: password)
        try self.init(privateKey: file.privateKey, certificate: file.certificates[0], chain: Array(file.certificates.dropFirst()))
    }

    /// The RSASSA-PKCS1-v1_5 signature of a SHA-256 digest (XML-DSig `rsa-sha256`).
    package func sign(sha256 digest: SHA256.Digest) throws(XMLSecurityError) -> [UInt8] {
        try operations.signature(forSHA256: digest)
    }

    /// Unwraps a key encrypted to this identity's certificate with RSA-OAEP (XML-Enc key
    /// transport). Every failure is the same error.
    package func decrypt(oaep ciphertext: [UInt8], digest: RSAPrivateKey.OAEPDigest) throws(XMLSecurityError) -> [UInt8] {
        try operations.decrypt(oaep: ciphertext, digest: digest)
    }
}
