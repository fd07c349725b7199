import Synchronization
package import _CryptoExtras
package import X509

/// Certificates as the AS4 and XHE checks meet them again and again: the same few access points'
/// and organisations' certificates in every message and receipt. Parsing a certificate's DER and
/// building its RSA key for the crypto library cost more than the rest of a receipt's check, so
/// both are kept for the certificates seen most recently, keyed by their exact bytes (one byte
/// different is another entry). Only parsing is remembered, never a verdict: every use still
/// evaluates the certificate against its trust anchors, validity and revocation.
///
/// Bounded: at most ``capacity`` certificates; when full, everything is dropped and parsed again
/// as it comes, so a peer sending ever new certificates costs parsing, not memory.
package enum ParsedCertificates {
    /// The most certificates kept at once.
    package static let capacity = 256

    private struct Keys: Sendable {
        var signing: _RSA.Signing.PublicKey?
        var encryption: EncryptionKey?
    }

    /// `_RSA.Encryption.PublicKey` is not declared Sendable, but it is safe to share: it holds
    /// only a `BoringSSLRSAPublicKey`, the same immutable backing as `_RSA.Signing.PublicKey`,
    /// which swift-crypto does declare Sendable; nothing mutates it after `init`, and BoringSSL's
    /// public-key operations on one RSA object may run on several threads at once.
    private struct EncryptionKey: @unchecked Sendable {
        let key: _RSA.Encryption.PublicKey
    }

    /// Bytes as a dictionary key, hashed in one pass (an array of bytes hashes byte by byte).
    private struct Bytes: Hashable, Sendable {
        let bytes: ArraySlice<UInt8>
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    private struct State: ~Copyable {
        var byDER: [Bytes: Certificate] = [:]
        /// By the signed part of the certificate, which holds the public key.
        var keys: [Bytes: Keys] = [:]
    }

    private static let state = Mutex(State())

    /// The certificate encoded by `der`; throws what `Certificate(derEncoded:)` throws.
    package static func certificate(der: [UInt8]) throws -> Certificate {
        let key = Bytes(bytes: der[...])
        if let known = state.withLock({ $0.byDER[key] }) { return known }
        let certificate = try Certificate(derEncoded: der)
        state.withLock {
            if $0.byDER.count >= capacity { $0.byDER.removeAll(keepingCapacity: true) }
            $0.byDER[key] = certificate
        }
        return certificate
    }

    /// Forgets every certificate and key. For the fuzzing harness: libFuzzer checks for leaks after
    /// any input that leaves more memory allocated than it found, so each input must end with the
    /// cache as it began.
    package static func removeAll() {
        state.withLock {
            $0.byDER = [:]
            $0.keys = [:]
        }
    }

    /// The RSA key of `certificate` for verifying its signatures; nil when it holds no RSA key.
    package static func rsaSigningKey(_ certificate: Certificate) -> _RSA.Signing.PublicKey? {
        keys(certificate).signing
    }

    /// The RSA key of `certificate` for encrypting to it (RSA-OAEP); nil when it holds no RSA key.
    package static func rsaEncryptionKey(_ certificate: Certificate) -> _RSA.Encryption.PublicKey? {
        keys(certificate).encryption?.key
    }

    private static func keys(_ certificate: Certificate) -> Keys {
        let key = Bytes(bytes: certificate.tbsCertificateBytes)
        if let known = state.withLock({ $0.keys[key] }) { return known }
        let signing = _RSA.Signing.PublicKey(certificate.publicKey)
        let encryption = signing.flatMap { try? _RSA.Encryption.PublicKey(derRepresentation: $0.derRepresentation) }.map(EncryptionKey.init)
        let keys = Keys(signing: signing, encryption: encryption)
        state.withLock {
            if $0.keys.count >= capacity { $0.keys.removeAll(keepingCapacity: true) }
            $0.keys[key] = keys
        }
        return keys
    }
}
