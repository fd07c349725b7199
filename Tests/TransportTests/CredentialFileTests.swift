import Crypto
import Foundation
import Transport
import _CryptoExtras
import X509
import XCTest

/// Keys and certificates as a CA hands them out, made with the `openssl` command line (not our
/// own code): PEM key + certificate, one PEM bundle, PKCS#12 with a password. Each loads into a
/// working signing identity with its chain; the wrong password, a foreign certificate and an
/// encrypted PEM key are refused with a message that says what to do.
final class CredentialFileTests: XCTestCase {
    static func scenario() throws -> String {
        let dir = NSTemporaryDirectory() + "kvitto-credentials-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(dir)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj '/CN=Test CA' 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj '/CN=ap-test/O=Test AB' 2>/dev/null
            openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out leaf.crt -days 10 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout other.key -out other.csr -subj '/CN=other' 2>/dev/null
            cat leaf.key leaf.crt ca.crt > bundle.pem
            printf 'hemligt lösen\\n' > password
            openssl pkcs12 -export -inkey leaf.key -in leaf.crt -certfile ca.crt -passout file:password -out leaf.p12
            openssl pkcs12 -export -inkey leaf.key -in leaf.crt -passout pass: -out open.p12
            openssl rsa -in leaf.key -aes256 -passout pass:x -out encrypted.key 2>/dev/null
            """
        let r = try runTool("sh", ["-c", script])
        XCTAssertEqual(r.status, 0, r.output)
        return dir
    }

    func testEveryFormAKeyComesInLoadsWithItsChain() throws {
        let dir = try Self.scenario()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let leaf = try XCTUnwrap(try CertificateFile.read(path: dir + "/leaf.crt").first)
        let ca = try XCTUnwrap(try CertificateFile.read(path: dir + "/ca.crt").first)
        let password = try String(contentsOfFile: dir + "/password", encoding: .utf8).trimmingCharacters(in: .newlines)
        let forms: [(String, String?, String?, [Certificate])] = [
            ("leaf.key", dir + "/leaf.crt", nil, [leaf]),
            ("bundle.pem", nil, nil, [leaf, ca]),
            ("bundle.pem", dir + "/bundle.pem", nil, [leaf, ca]),
            ("leaf.p12", nil, password, [leaf, ca]),
            ("open.p12", nil, nil, [leaf]),
        ]
        for (key, certificate, secret, chain) in forms {
            let identity = try SigningIdentity(keyPath: dir + "/" + key, certificatePath: certificate, password: secret)
            XCTAssertEqual([identity.certificate] + identity.chain, chain, key)
            // The key signs, and the certificate's public key verifies it.
            let digest = SHA256.hash(data: Array("kvitto".utf8))
            let signature = _RSA.Signing.RSASignature(rawRepresentation: try identity.sign(sha256: digest))
            let publicKey = try XCTUnwrap(_RSA.Signing.PublicKey(identity.certificate.publicKey))
            XCTAssertTrue(publicKey.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5), key)
        }
    }

    func testRefusalsSayWhatToDo() throws {
        let dir = try Self.scenario()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func refusal(_ key: String, _ certificate: String?, _ password: String?) -> String {
            do {
                _ = try SigningIdentity(keyPath: dir + "/" + key, certificatePath: certificate.map { dir + "/" + $0 }, password: password)
                return "accepted"
            } catch { return error.description }
        }
        XCTAssertTrue(refusal("leaf.p12", nil, "fel").contains("the password does not open the PKCS#12 file"), refusal("leaf.p12", nil, "fel"))
        XCTAssertTrue(refusal("leaf.p12", nil, nil).contains("the password does not open"))
        XCTAssertTrue(refusal("other.key", "leaf.crt", nil).contains("does not belong to the key"))
        XCTAssertTrue(refusal("other.key", "bundle.pem", nil).contains("none of the 2 certificates"))
        XCTAssertTrue(refusal("encrypted.key", "leaf.crt", nil).contains("is encrypted"))
        XCTAssertTrue(refusal("leaf.key", nil, nil).contains("holds no certificate"))
        XCTAssertTrue(refusal("leaf.crt", nil, nil).contains("holds no private key"))
        XCTAssertTrue(refusal("missing.p12", nil, nil).contains("cannot read the private key"))
        XCTAssertTrue(refusal("leaf.key", "missing.crt", nil).contains("cannot read the certificate"))
    }
}
