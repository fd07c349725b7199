import Foundation
import JWTKit

/// One public key of an issuer, ready to verify tokens of one algorithm. A JWK usable with
/// several accepted algorithms (an RSA key without `alg`) becomes one value per algorithm, so that
/// the algorithm is always the one the key was admitted for, never the token's choice alone.
struct VerificationKey: Sendable {
    /// The key's `kid`, when the issuer publishes one.
    let kid: String?
    let algorithm: String
    /// A collection holding only this key, as its default (jwt-kit verifies with it).
    let keys: JWTKeyCollection
    /// The key's members as published, to tell whether a fetched set differs from the last.
    let identity: String

    /// The usable keys of a JWKS document: signature keys (`use` absent or `sig`) of a supported
    /// type whose `alg`, when set, is accepted. Keys of unknown types are skipped, not fatal.
    static func keys(of jwks: ClaimValue, accepting algorithms: [String]) async -> [VerificationKey] {
        guard case .array(let entries)? = jwks["keys"] else { return [] }
        var out: [VerificationKey] = []
        let sortedEncoder = JSONEncoder()
        sortedEncoder.outputFormatting = .sortedKeys
        for (index, entry) in entries.prefix(64).enumerated() {
            guard case .object(let fields) = entry else { continue }
            if let use = fields["use"], use != .string("sig") { continue }
            let kty = fields["kty"]?.string ?? "", crv = fields["crv"]?.string
            let jwkAlg = fields["alg"]?.string
            let candidates = algorithms.filter { Self.fits($0, kty: kty, crv: crv) && (jwkAlg == nil || jwkAlg == $0) }
            for alg in candidates {
                var object = fields
                object["alg"] = .string(alg)
                object["kid"] = .string("key-\(index)")
                guard let data = try? JSONEncoder().encode(ClaimValue.object(object)),
                      let jwk = try? JSONDecoder().decode(JWK.self, from: data) else { continue }
                let collection = JWTKeyCollection()
                guard (try? await collection.add(jwk: jwk, isDefault: true)) != nil,
                      (try? await collection.getKey(alg: alg)) != nil else { continue }
                let published = (try? sortedEncoder.encode(entry)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                out.append(VerificationKey(kid: fields["kid"]?.string, algorithm: alg, keys: collection, identity: alg + " " + published))
            }
        }
        return out
    }

    /// Whether a key of type `kty` (and curve `crv`) can carry algorithm `alg`.
    static func fits(_ alg: String, kty: String, crv: String?) -> Bool {
        switch alg {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": return kty == "RSA"
        case "ES256": return kty == "EC" && crv == "P-256"
        case "ES384": return kty == "EC" && crv == "P-384"
        case "EdDSA": return kty == "OKP" && crv == "Ed25519"
        default: return false
        }
    }
}
