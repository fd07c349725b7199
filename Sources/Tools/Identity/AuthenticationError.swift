/// Why a caller was not authenticated. ``code`` is stable and documented (`Schemas/identity.md`);
/// ``publicText`` is the fixed sentence a caller may see; ``detail`` stays in the node's log.
package struct AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable, CaseIterable {
        /// No `Authorization: Bearer` header.
        case missingToken = "auth.missing_token"
        /// Not three base64url parts, or a header or payload that is not a JSON object.
        case malformedToken = "auth.malformed_token"
        /// `iss` names no configured issuer.
        case unknownIssuer = "auth.unknown_issuer"
        /// `alg` is not one the issuer is configured for (`none` and HMAC never are), or the
        /// header is marked critical.
        case algorithmRefused = "auth.algorithm_refused"
        /// No key of the issuer has the token's `kid`, even after fetching the key set again.
        case unknownKey = "auth.unknown_key"
        /// The signature does not verify with the issuer's key.
        case badSignature = "auth.bad_signature"
        /// `exp` is missing or past (beyond the tolerated skew).
        case expired = "auth.expired"
        /// `nbf` or `iat` lies in the future (beyond the tolerated skew).
        case notYetValid = "auth.not_yet_valid"
        /// `aud` names none of the node's audiences for this issuer.
        case wrongAudience = "auth.wrong_audience"
        /// The token carries no identity the node maps (no personal identity number, HSA-ID, or
        /// accepted client), or a claim in the wrong form.
        case noIdentity = "auth.no_identity"
        /// The issuer's discovery document or key set could not be fetched or used.
        case issuerUnavailable = "auth.issuer_unavailable"
        /// The TLS client certificate (mutual TLS, no bearer token) does not chain to the TLS trust
        /// now: expired, revoked, not yet valid, or not from a trusted issuer.
        case certificateRefused = "auth.certificate_refused"
        /// A console sign-in did not complete: no or a used login, a `state` or `nonce` that does
        /// not match, or a token endpoint that refused the code (`Schemas/console.md`).
        case signInFailed = "auth.sign_in_failed"
    }

    package let code: Code
    package let detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Whether the caller should try again later rather than fix its token (HTTP 503, not 401).
    package var isTemporary: Bool { code == .issuerUnavailable }

    /// The fixed text a caller sees for this code.
    package var publicText: String {
        switch code {
        case .missingToken: return "An Authorization: Bearer token is required."
        case .malformedToken: return "The bearer token is not a well-formed JWT."
        case .unknownIssuer: return "The token's issuer is not trusted by this node."
        case .algorithmRefused: return "The token's signature algorithm is not accepted."
        case .unknownKey: return "The token is signed with a key the issuer does not publish."
        case .badSignature: return "The token's signature does not verify."
        case .expired: return "The token has expired."
        case .notYetValid: return "The token is not valid yet."
        case .wrongAudience: return "The token is not meant for this node."
        case .noIdentity: return "The token carries no identity this node accepts."
        case .issuerUnavailable: return "The token's issuer cannot be reached; try again later."
        case .certificateRefused: return "The client certificate is not trusted by this node."
        case .signInFailed: return "Signing in did not complete; start again."
        }
    }

    package var description: String { "\(code.rawValue): \(detail)" }
}
