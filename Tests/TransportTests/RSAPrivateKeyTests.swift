import Crypto
import Dispatch
import Foundation
import XCTest
import _CryptoExtras
@testable import Transport

/// The OpenSSL path of the private-key operations against BoringSSL's (swift-crypto): the same
/// signatures, each other's ciphertexts, the same refusals.
final class RSAPrivateKeyTests: XCTestCase {
    static let identity: SigningIdentity = {
        // A test fixture: issuing cannot fail on a working machine, and every test needs it.
        try! ThrowawayPKI(commonName: "RSA test CA").issue(commonName: "rsa-test")
    }()

    func testSignaturesAreBoringSSLsByteForByteAndVerify() throws {
        let identity = Self.identity
        for text in ["", "a", String(repeating: "SignedInfo ", count: 500)] {
            let digest = SHA256.hash(data: Array(text.utf8))
            let ours = try identity.sign(sha256: digest)
            let boring = Array(try identity.privateKey.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
            // RSASSA-PKCS1-v1_5 is deterministic: two correct implementations agree on every byte.
            XCTAssertEqual(ours, boring)
            XCTAssertEqual(ours.count, 256)
            XCTAssertTrue(identity.privateKey.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: ours), for: digest, padding: .insecurePKCS1v1_5))
            XCTAssertFalse(identity.privateKey.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: ours), for: SHA256.hash(data: Array((text + ".").utf8)),
                padding: .insecurePKCS1v1_5))
        }
    }

    func testUnwrapsWhatSwiftCryptoEncryptsWithBothOAEPDigests() throws {
        let identity = Self.identity
        let publicKey = try _RSA.Encryption.PublicKey(derRepresentation: identity.privateKey.publicKey.derRepresentation)
        for (padding, digest) in [(_RSA.Encryption.Padding.PKCS1_OAEP, RSAPrivateKey.OAEPDigest.sha1),
                                  (.PKCS1_OAEP_SHA256, .sha256)] {
            for count in [16, 32] {
                let key = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
                let wrapped = Array(try publicKey.encrypt(key, padding: padding))
                XCTAssertEqual(try identity.decrypt(oaep: wrapped, digest: digest), key)
                // The other digest, an altered byte, a short ciphertext: the same refusal.
                let other: RSAPrivateKey.OAEPDigest = digest == .sha1 ? .sha256 : .sha1
                XCTAssertThrowsError(try identity.decrypt(oaep: wrapped, digest: other)) {
                    XCTAssertEqual(($0 as? XMLSecurityError)?.code, "encryption.decryption_failed")
                }
                var altered = wrapped
                altered[100] ^= 0x01
                XCTAssertThrowsError(try identity.decrypt(oaep: altered, digest: digest)) {
                    XCTAssertEqual(($0 as? XMLSecurityError)?.code, "encryption.decryption_failed")
                }
                XCTAssertThrowsError(try identity.decrypt(oaep: Array(wrapped.dropFirst()), digest: digest)) {
                    XCTAssertEqual(($0 as? XMLSecurityError)?.code, "encryption.decryption_failed")
                }
            }
        }
    }

    func testKeyParsingAcceptsPKCS1AndPKCS8AndRefusesTheRest() throws {
        let key = Self.identity.privateKey
        let pkcs1 = Array(key.derRepresentation)
        let digest = SHA256.hash(data: [1, 2, 3])
        let expected = Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
        XCTAssertEqual(try RSAPrivateKey(derRepresentation: pkcs1).signature(forSHA256: digest), expected)
        let pkcs8 = Array(try XCTUnwrap(Base64.decode(key.pkcs8PEMRepresentation
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())))
        XCTAssertNotEqual(pkcs8, pkcs1)
        XCTAssertEqual(try RSAPrivateKey(derRepresentation: pkcs8).signature(forSHA256: digest), expected)

        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        let ed25519 = Array(try XCTUnwrap(Base64.decode(Curve25519.Signing.PrivateKey().pemRepresentation
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())))
        for (bad, why) in [([], "empty"), (Array(pkcs1.dropLast()), "truncated"), (pkcs1 + [0], "trailing byte"),
                           (Array(small.derRepresentation), "1024-bit"), (ed25519, "Ed25519"),
                           (Array(key.publicKey.derRepresentation), "public key")] as [([UInt8], String)] {
            XCTAssertThrowsError(try RSAPrivateKey(derRepresentation: bad), why) {
                XCTAssertEqual(($0 as? XMLSecurityError)?.code, "security.key_unusable", why)
            }
        }
    }

    /// One key on many threads at once (how the node uses it): every signature is right.
    func testOneKeyOnManyThreads() throws {
        let identity = Self.identity
        let digests = (0..<64).map { SHA256.hash(data: [UInt8($0)]) }
        let expected = try digests.map { Array(try identity.privateKey.signature(for: $0, padding: .insecurePKCS1v1_5).rawRepresentation) }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: digests.count)
        results.initialize(repeating: false)
        defer { results.deallocate() }
        // Each iteration writes only its own slot; concurrentPerform returns after all of them.
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: digests.count) { i in
            slots[i] = (try? identity.sign(sha256: digests[i])) == expected[i]
        }
        XCTAssertEqual(results.filter { $0 }.count, digests.count)
    }
}
