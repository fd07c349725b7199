import AsyncHTTPClient
package import Foundation
import JWTKit
package import Projections

/// Authenticates API callers by their bearer JWTs: finds the issuer by `iss` among the configured
/// ones, checks the algorithm against the issuer's list (never `none` or HMAC), verifies the
/// signature with the issuer's published key (jwt-kit), then `exp`, `nbf`, `iat` with the
/// issuer's skew and `aud` against its audiences, and maps the claims to a ``Principal``
/// (``ClaimMapping``). Every check fails closed with an ``AuthenticationError``. A token whose
/// signature verified in the last minute is not verified again (``VerifiedTokens``); its time
/// claims and audience are.
package final class TokenVerifier: Sendable {
    private struct Issuer: Sendable {
        let trust: IssuerTrust
        let keys: IssuerKeys
        let mapping: ClaimMapping
    }

    private let issuers: [String: Issuer]
    private let client: HTTPClient
    private let now: @Sendable () -> Double
    /// Tokens whose signatures verified within the last minute (see ``VerifiedTokens``).
    private let verified = VerifiedTokens()

    /// Tokens longer than this are refused unread.
    package static let maxTokenBytes = 16 * 1024

    /// - Parameters:
    ///   - participants: the node's participant ids (strong authentication is decided per participant).
    ///   - development: the development issuer, when enabled; its tokens are verified with its own key.
    ///   - now: seconds since 1970 (tests inject a clock).
    package convenience init(config: IdentityConfig, participants: [String], development: DevelopmentIssuer? = nil,
                             now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.init(config: config, currentParticipants: { participants }, development: development, now: now)
    }

    /// - Parameters:
    ///   - currentParticipants: the node's participant ids at the time of each verification (a
    ///     running node's change as participants are added or retired).
    package init(config: IdentityConfig, currentParticipants participants: @escaping @Sendable () -> [String], development: DevelopmentIssuer? = nil,
                 now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        var redirects = HTTPClient.Configuration()
        redirects.redirectConfiguration = .disallow
        redirects.timeout = .init(connect: .seconds(5), read: .seconds(10))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: redirects)
        let rule: @Sendable (String) -> StrongAuthenticationRule = { config.strongRule(for: $0) }
        var table: [String: Issuer] = [:]
        for trust in config.issuers {
            table[trust.issuer] = Issuer(
                trust: trust, keys: IssuerKeys(trust: trust, source: DiscoveryKeySource(trust: trust, client: client), now: now),
                mapping: ClaimMapping(trust: trust, strongRule: rule, participants: participants))
        }
        if let development {
            let trust = development.trust
            table[trust.issuer] = Issuer(
                trust: trust, keys: IssuerKeys(trust: trust, source: StaticKeySource(keySet: development.keySet), now: now),
                mapping: ClaimMapping(trust: trust, strongRule: rule, participants: participants))
        }
        self.issuers = table
        self.client = client
        self.now = now
    }

    /// Stops the HTTP client that fetches issuers' documents. Call once, when the node stops.
    package func shutdown() async {
        try? await client.shutdown()
    }

    /// How often the key set of `issuer` has been fetched (diagnostics, tests).
    package func keyFetches(issuer: String) async -> Int {
        await issuers[issuer]?.keys.fetches ?? 0
    }

    /// The caller of a request with this `Authorization` header value.
    package func authenticate(authorization: String?, interface: Principal.Interface) async throws(AuthenticationError) -> Principal {
        // Byte-wise: this runs on every request (Foundation's trimming goes through UTF-16).
        guard let header = authorization?.utf8, header.count > 7,
              zip(header.prefix(7), "bearer ".utf8).allSatisfy({ $0 == $1 || ($1 != UInt8(ascii: " ") && $0 | 0x20 == $1) }) else {
            throw AuthenticationError(.missingToken, "no Authorization: Bearer header")
        }
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let token = header.dropFirst(7).drop(while: blank)
        let end = token.lastIndex(where: { !blank($0) }).map { token.index(after: $0) } ?? token.startIndex
        return try await verify(token: String(Substring(token[..<end])), interface: interface)
    }

    /// The caller a bearer token names, after every check.
    package func verify(token: String, interface: Principal.Interface) async throws(AuthenticationError) -> Principal {
        try await verify(token: token, interface: interface, audience: nil)
    }

    /// `audience`: the one `aud` value required instead of the issuer's audiences (an ID token's
    /// client id).
    private func verify(token: String, interface: Principal.Interface, audience: String?) async throws(AuthenticationError) -> Principal {
        if let known = verified.claims(of: token, now: now()), let issuer = issuers[known.issuer] {
            try check(known.claims, of: issuer.trust, audience: audience)
            if audience == nil, let mapped = known.principal, mapped.interface == interface { return mapped.principal }
            return try issuer.mapping.principal(known.claims, interface: interface)
        }
        guard token.utf8.count <= Self.maxTokenBytes else { throw AuthenticationError(.malformedToken, "longer than \(Self.maxTokenBytes) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let header = Self.object(parts[0]), let payload = Self.object(parts[1]) else {
            throw AuthenticationError(.malformedToken, "not three base64url parts with JSON objects")
        }
        if header["crit"] != nil { throw AuthenticationError(.algorithmRefused, "critical header parameters are not supported") }
        if let typ = header["typ"] {
            guard let t = typ.string?.lowercased(), ["jwt", "at+jwt", "application/at+jwt"].contains(t) else {
                throw AuthenticationError(.malformedToken, "typ \(typ) is not a bearer token type")
            }
        }
        guard let alg = header["alg"]?.string else { throw AuthenticationError(.malformedToken, "no alg") }
        guard let iss = payload["iss"]?.string, let issuer = issuers[iss] else {
            throw AuthenticationError(.unknownIssuer, "iss \(payload["iss"]?.string ?? "(none)") is not configured")
        }
        guard issuer.trust.acceptedAlgorithms.contains(alg), IssuerTrust.supportedAlgorithms.contains(alg) else {
            throw AuthenticationError(.algorithmRefused, "alg \(alg) is not accepted for \(iss)")
        }
        guard !parts[2].isEmpty else { throw AuthenticationError(.malformedToken, "no signature") }
        if let kid = header["kid"], kid.string == nil { throw AuthenticationError(.malformedToken, "kid is not a string") }
        let kid = header["kid"]?.string

        let (candidates, generation) = try await issuer.keys.candidates(kid: kid, algorithm: alg)
        guard !candidates.isEmpty else {
            throw AuthenticationError(.unknownKey, "\(iss) publishes no \(alg) key" + (kid.map { " with kid \($0)" } ?? ""))
        }
        var claims = try await Self.firstVerifying(token, with: candidates)
        if claims == nil, kid == nil {
            // A token without kid may be signed with a key the issuer has just rotated to.
            let rotated = try await issuer.keys.candidatesAfterRotation(algorithm: alg, seen: generation)
            claims = try await Self.firstVerifying(token, with: rotated)
        }
        guard let claims else { throw AuthenticationError(.badSignature, "signature does not verify with \(iss)'s \(alg) key") }

        try check(claims, of: issuer.trust, audience: audience)
        let principal = try issuer.mapping.principal(claims, interface: interface)
        verified.remember(token, claims: claims, issuer: iss, now: now(), principal: audience == nil ? (interface, principal) : nil)
        return principal
    }

    /// The person an ID token of a console sign-in names: signature, `exp`, `nbf`, `iat` as for
    /// ``verify(token:interface:)``, but `aud` must hold `clientID` (not an API audience: an ID
    /// token is no API token, and the console's client id is kept out of the API's audiences),
    /// `iss` must be `issuer`, `azp` (when present) the client, and `nonce` the sign-in's,
    /// compared in constant time.
    package func verify(idToken: String, issuer: String, clientID: String, nonce: String,
                        interface: Principal.Interface) async throws(AuthenticationError) -> Principal {
        let principal = try await verify(token: idToken, interface: interface, audience: clientID)
        // The token verified: its payload is the one the issuer signed.
        let parts = idToken.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Self.object(parts[1]) else {
            throw AuthenticationError(.malformedToken, "the ID token's payload is not a JSON object")
        }
        guard payload["iss"]?.string == issuer else {
            throw AuthenticationError(.signInFailed, "the ID token's iss is not the console's issuer \(issuer)")
        }
        if let azp = payload["azp"], azp.string != clientID {
            throw AuthenticationError(.signInFailed, "the ID token's azp is not the console's client id")
        }
        guard let said = payload["nonce"]?.string, Self.sameBytes(Array(said.utf8), Array(nonce.utf8)) else {
            throw AuthenticationError(.signInFailed, "the ID token's nonce is missing or not the sign-in's")
        }
        return principal
    }

    /// Equal byte strings, in time independent of where they differ.
    package static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in a.indices { d |= a[i] ^ b[i] }
        return d == 0
    }

    private static func firstVerifying(_ token: String, with keys: [VerificationKey]) async throws(AuthenticationError) -> TokenClaims? {
        for key in keys {
            do {
                return try await key.keys.verify(token, as: TokenClaims.self)
            } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
                continue
            } catch {
                throw AuthenticationError(.malformedToken, "jwt-kit: \(error)")
            }
        }
        return nil
    }

    private func check(_ claims: TokenClaims, of trust: IssuerTrust, audience: String?) throws(AuthenticationError) {
        let t = now(), skew = trust.skew
        guard let exp = claims["exp"]?.number else { throw AuthenticationError(.expired, "no exp") }
        if t >= exp + skew { throw AuthenticationError(.expired, "exp \(Int(exp)) is past (now \(Int(t)), skew \(Int(skew)) s)") }
        if let nbf = claims["nbf"] {
            guard let n = nbf.number else { throw AuthenticationError(.malformedToken, "nbf is not a number") }
            if n > t + skew { throw AuthenticationError(.notYetValid, "nbf \(Int(n)) is ahead (now \(Int(t)))") }
        }
        if let iat = claims["iat"] {
            guard let i = iat.number else { throw AuthenticationError(.malformedToken, "iat is not a number") }
            if i > t + skew { throw AuthenticationError(.notYetValid, "iat \(Int(i)) is ahead (now \(Int(t)))") }
        }
        let accepted = audience.map { [$0] } ?? trust.audiences
        guard let aud = claims["aud"]?.strings, aud.contains(where: accepted.contains) else {
            throw AuthenticationError(.wrongAudience, "aud \(claims["aud"].map { "\($0)" } ?? "(none)") names none of \(accepted)")
        }
    }

    /// A base64url (unpadded) part decoded to a JSON object, or nil.
    private static func object(_ part: Substring) -> ClaimValue? {
        guard let data = Base64URL.decode(part), let value = ClaimValue.parse(data, limit: maxTokenBytes), case .object = value else { return nil }
        return value
    }
}

/// Unpadded base64url (RFC 7515 §2), strict: any other character refuses.
package enum Base64URL {
    package static func decode(_ text: Substring) -> Data? {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }) else {
            return nil
        }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        switch s.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        return Data(base64Encoded: s)
    }

    package static func encode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
