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

    /// Loads a PEM private key (PKCS#1 or PKCS#8) and a PEM/DER certificate file (leaf first).
    package init(keyPath: String, certificatePath: String) throws(XMLSecurityError) {
        let keyPEM: String
        do { keyPEM = try String(contentsOfFile: keyPath, encoding: .utf8) } catch {
            throw .keyUnusable("cannot read the private key \(keyPath): \(error.localizedDescription)")
        }
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM) } catch {
            throw .keyUnusable("\(keyPath) is not a PEM RSA private key")
        }
        let certs: [Certificate]
        do { certs = try CertificateFile.read(path: certificatePath) } catch {
            throw .keyUnusable("cannot read the certificate \(certificatePath): \(error)")
        }
        guard let leaf = certs.first else { throw .keyUnusable("\(certificatePath) holds no certificate") }
        guard let certKey = _RSA.Signing.PublicKey(leaf.publicKey), certKey.derRepresentation == key.publicKey.derRepresentation else {
            throw .keyUnusable("the certificate in \(certificatePath) does not belong to the key in \(keyPath)")
        }
        try self.init(privateKey: key, certificate: leaf, chain: Array(certs.dropFirst()))
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
