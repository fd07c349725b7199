package import _CryptoExtras
package import X509
import Foundation

/// An RSA private key with its certificate (and optional chain), used to sign and to decrypt.
package struct SigningIdentity: Sendable {
    package let privateKey: _RSA.Signing.PrivateKey
    package let certificate: Certificate
    /// Intermediates sent along in KeyInfo.
    package let chain: [Certificate]

    package init(privateKey: _RSA.Signing.PrivateKey, certificate: Certificate, chain: [Certificate] = []) {
        self.privateKey = privateKey
        self.certificate = certificate
        self.chain = chain
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
        self.init(privateKey: key, certificate: leaf, chain: Array(certs.dropFirst()))
    }

    /// The same key for RSA decryption (XML-Enc key transport).
    package var decryptionKey: _RSA.Encryption.PrivateKey {
        get throws(XMLSecurityError) {
            do { return try _RSA.Encryption.PrivateKey(derRepresentation: privateKey.derRepresentation) } catch {
                throw .keyUnusable("the key cannot be used for RSA decryption: \(error)")
            }
        }
    }
}
