import COpenSSL
import Foundation
package import X509
package import _CryptoExtras
import SwiftASN1

/// A private key and its certificate chain, read from the forms CAs and operators hand them out
/// in: a PEM key (PKCS#1 or PKCS#8) beside a PEM/DER certificate file, one PEM bundle holding the
/// key and the certificates, or a PKCS#12 file (`.p12`/`.pfx`, opened with a password through
/// OpenSSL). The certificate that belongs to the key comes first, then the rest of the chain.
/// Encrypted PEM keys are refused with a hint (a PKCS#12 file carries the password instead).
package struct CredentialFile: Sendable {
    package let privateKey: _RSA.Signing.PrivateKey
    /// The key's certificate first, then the others found (intermediates, possibly the root).
    package let certificates: [Certificate]

    /// Reads the key at `keyPath` and the certificates at `certificatePath` — or, when that is nil
    /// or the same file, the certificates in the key's own file (a PEM bundle or PKCS#12).
    /// `password` opens a PKCS#12 file (nil: the empty password).
    package init(keyPath: String, certificatePath: String?, password: String? = nil) throws(XMLSecurityError) {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: keyPath))) } catch {
            throw .keyUnusable("cannot read the private key \(keyPath): \(error.localizedDescription)")
        }
        var key: _RSA.Signing.PrivateKey
        var found: [Certificate]
        if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN ") {
            (key, found) = try Self.pem(text, path: keyPath)
        } else if let p12 = try Self.pkcs12(bytes, password: password ?? "", path: keyPath) {
            (key, found) = p12
        } else {
            do { key = try _RSA.Signing.PrivateKey(derRepresentation: bytes) } catch {
                throw .keyUnusable("\(keyPath) is neither a PEM file, a PKCS#12 file nor a DER RSA private key")
            }
            found = []
        }
        if let certificatePath, certificatePath != keyPath {
            do { found = try CertificateFile.read(path: certificatePath) } catch {
                throw .keyUnusable("cannot read the certificate \(certificatePath): \(Self.describe(error))")
            }
            guard !found.isEmpty else { throw .keyUnusable("\(certificatePath) holds no certificate") }
        }
        let source = certificatePath ?? keyPath
        guard !found.isEmpty else { throw .keyUnusable("\(source) holds no certificate for the key in \(keyPath)") }
        let publicKey = key.publicKey.derRepresentation
        guard let leaf = found.firstIndex(where: { _RSA.Signing.PublicKey($0.publicKey)?.derRepresentation == publicKey }) else {
            throw .keyUnusable(found.count == 1 ? "the certificate in \(source) does not belong to the key in \(keyPath)"
                                                : "none of the \(found.count) certificates in \(source) belongs to the key in \(keyPath)")
        }
        privateKey = key
        certificates = [found[leaf]] + found.enumerated().filter { $0.offset != leaf }.map(\.element)
    }

    /// The key and certificates of a PEM file.
    private static func pem(_ text: String, path: String) throws(XMLSecurityError) -> (_RSA.Signing.PrivateKey, [Certificate]) {
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw .keyUnusable("the private key in \(path) is encrypted; give the key unencrypted with file permissions 0600, "
                               + "or the PKCS#12 file with its password file")
        }
        let blocks: [PEMDocument]
        do { blocks = try PEMDocument.parseMultiple(pemString: text) } catch {
            throw .keyUnusable("\(path) is not readable PEM: \(describe(error))")
        }
        let keys = blocks.filter { ["PRIVATE KEY", "RSA PRIVATE KEY"].contains($0.discriminator) }
        guard keys.count == 1, let block = keys.first else {
            throw .keyUnusable(keys.isEmpty ? "\(path) holds no private key" : "\(path) holds \(keys.count) private keys; give one")
        }
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(derRepresentation: block.derBytes) } catch {
            throw .keyUnusable("\(path) is not a PEM RSA private key")
        }
        var certificates: [Certificate] = []
        for b in blocks where b.discriminator == "CERTIFICATE" {
            do { certificates.append(try Certificate(derEncoded: b.derBytes)) } catch {
                throw .keyUnusable("a certificate in \(path) cannot be read: \(describe(error))")
            }
        }
        return (key, certificates)
    }

    /// The key and certificates of a PKCS#12 file; nil when `bytes` are not PKCS#12.
    private static func pkcs12(_ bytes: [UInt8], password: String, path: String) throws(XMLSecurityError)
        -> (_RSA.Signing.PrivateKey, [Certificate])?
    {
        var keyPointer: UnsafeMutablePointer<UInt8>?
        var certificatesPointer: UnsafeMutablePointer<UInt8>?
        var keyLength: Int32 = 0, certificatesLength: Int32 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            password.withCString { kvitto_pkcs12_parse(b.baseAddress, b.count, $0, &keyPointer, &keyLength, &certificatesPointer, &certificatesLength) }
        }
        defer {
            if let keyPointer { kvitto_openssl_free(keyPointer, Int(max(keyLength, 1))) }
            if let certificatesPointer { kvitto_openssl_free(certificatesPointer, 0) }
        }
        switch rc {
        case 1: break
        case 0: return nil
        case -1: throw .keyUnusable("the password does not open the PKCS#12 file \(path) (check the password file)")
        case -2: throw .keyUnusable("the PKCS#12 file \(path) holds no private key with its certificate")
        default:
            throw .keyUnusable("OpenSSL cannot read the contents of the PKCS#12 file \(path); a file made with legacy algorithms (RC2, 3DES) "
                               + "can be converted with `openssl pkcs12 -legacy -in OLD -nodes | openssl pkcs12 -export -out NEW`")
        }
        guard let keyPointer, let certificatesPointer else { throw .keyUnusable("the PKCS#12 file \(path) could not be read") }
        let keyDER = Array(UnsafeBufferPointer(start: keyPointer, count: Int(keyLength)))
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(derRepresentation: keyDER) } catch {
            throw .keyUnusable("the private key in \(path) is not an RSA key")
        }
        // Concatenated DER certificates: each one's length comes from its own header.
        var certificates: [Certificate] = []
        var rest = ArraySlice(UnsafeBufferPointer(start: certificatesPointer, count: Int(certificatesLength)))
        while !rest.isEmpty {
            guard let count = derLength(rest), count <= rest.count else { throw .keyUnusable("a certificate in \(path) cannot be read") }
            do { certificates.append(try Certificate(derEncoded: Array(rest.prefix(count)))) } catch {
                throw .keyUnusable("a certificate in \(path) cannot be read: \(describe(error))")
            }
            rest = rest.dropFirst(count)
        }
        return (key, certificates)
    }

    /// The whole length (header included) of the DER element at the start of `bytes`: a
    /// SEQUENCE with a definite length of at most four length bytes; nil otherwise.
    private static func derLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        let b = Array(bytes.prefix(6))
        guard b.count >= 2, b[0] == 0x30 else { return nil }
        if b[1] < 0x80 { return 2 + Int(b[1]) }
        let n = Int(b[1] & 0x7F)
        guard (1...4).contains(n), b.count >= 2 + n else { return nil }
        return 2 + n + b[2..<(2 + n)].reduce(0) { $0 << 8 | Int($1) }
    }

    private static func describe(_ error: any Error) -> String {
        if let e = error as? CocoaError, e.code == .fileReadNoSuchFile { return "no such file" }
        return "\(error)"
    }
}
