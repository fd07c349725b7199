import Crypto
import Foundation
import JWTKit

#if canImport(Glibc)
import Glibc
#endif

/// The local development issuer: an ES256 key in the node directory that `kvitto token` signs
/// development tokens with, and that the node trusts only while `identity.development_issuer.enabled`
/// is true. Demos and tests only — its tokens name whoever `kvitto token` is told to name.
package struct DevelopmentIssuer: Sendable {
    package static let keyFile = "keys/development-issuer.pem"
    /// The claim its tokens carry an HSA-ID in.
    package static let hsaClaim = "urn:kvitto:claim:hsaId"

    package let config: DevelopmentIssuerConfig
    private let key: P256.Signing.PrivateKey

    /// Why the development issuer cannot be used.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// Loads the key from `directory/keys/development-issuer.pem`, creating it (mode 0600) when
    /// missing. Refuses when the issuer is not enabled in the configuration.
    package static func open(directory: String, config: DevelopmentIssuerConfig?) throws(Failure) -> DevelopmentIssuer {
        guard let config, config.enabled else {
            throw Failure(description: "the development issuer is off; enable it in kvitto.json with \"identity\": {\"development_issuer\": {\"enabled\": true}} (demos and tests only)")
        }
        let path = directory + "/" + keyFile
        let fm = FileManager.default
        if let data = fm.contents(atPath: path) {
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & 0o077 == 0, info.st_uid == geteuid() else {
                throw Failure(description: "\(path) must be owned by you and readable by no one else (chmod 600)")
            }
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)) else {
                throw Failure(description: "\(path) is not a P-256 private key in PEM")
            }
            return DevelopmentIssuer(config: config, key: key)
        }
        let key = P256.Signing.PrivateKey()
        do {
            try fm.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "cannot create \(directory)/keys: \(error)")
        }
        // Created exclusively with mode 0600 from the start: never readable by others, not even briefly.
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path) (errno \(errno))") }
        let pem = Array(key.pemRepresentation.utf8)
        let written = pem.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == pem.count, synced else { throw Failure(description: "cannot write \(path)") }
        return DevelopmentIssuer(config: config, key: key)
    }

    /// The issuer as the verifier trusts it: ES256 only, the configured audience.
    package var trust: IssuerTrust {
        var t = IssuerTrust(issuer: config.issuer, audiences: [config.tokenAudience])
        t.algorithms = ["ES256"]
        t.anyClient = true
        t.claims = ClaimNames(hsaId: Self.hsaClaim)
        return t
    }

    /// The key's id: the first 16 hex digits of SHA-256 over its public point.
    package var keyID: String {
        SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The public key as a JWKS document.
    var keySet: ClaimValue {
        let raw = key.publicKey.rawRepresentation
        return .object(["keys": .array([.object([
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(keyID),
            "x": .string(Base64URL.encode(raw.prefix(32))), "y": .string(Base64URL.encode(raw.suffix(32))),
        ])])])
    }

    /// A signed token for `subject` with `claims` added (`iss`, `aud`, `iat`, `nbf`, `exp` and
    /// `jti` are set here), valid for `lifetime` seconds (default: the configured lifetime).
    package func mint(subject: String, claims: [String: ClaimValue], lifetime: Int? = nil,
                      now: Double = Date().timeIntervalSince1970) async throws(Failure) -> String {
        let t = Double(Int(now))
        var all = claims
        all["iss"] = .string(config.issuer)
        all["sub"] = .string(subject)
        all["aud"] = .string(config.tokenAudience)
        all["iat"] = .number(t)
        all["nbf"] = .number(t)
        all["exp"] = .number(t + Double(lifetime ?? config.lifetime))
        all["jti"] = .string(UUID().uuidString.lowercased())
        do {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: keyID))
            var header = JWTHeader()
            header.typ = "JWT"
            return try await keys.sign(TokenClaims(all), kid: JWKIdentifier(string: keyID), header: header)
        } catch {
            throw Failure(description: "signing: \(error)")
        }
    }
}

extension ClaimValue: ExpressibleByStringLiteral {
    package init(stringLiteral value: String) { self = .string(value) }
}
