import Foundation
package import JWTKit

/// The payload of a bearer token: every claim as sent. jwt-kit checks the signature; the
/// registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`) are checked by ``TokenVerifier``
/// with the issuer's settings, so ``verify(using:)`` accepts everything.
package struct TokenClaims: JWTPayload, Sendable {
    package var values: [String: ClaimValue]

    package init(_ values: [String: ClaimValue]) { self.values = values }

    package init(from decoder: any Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: ClaimValue].self)
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }

    package func verify(using algorithm: some JWTAlgorithm) async throws {}

    package subscript(name: String) -> ClaimValue? { values[name] }
}
