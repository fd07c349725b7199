import Foundation

/// One OpenID Connect issuer whose tokens the node accepts (an entry of `identity.issuers`).
package struct IssuerTrust: Codable, Sendable, Equatable {
    /// The issuer identifier, compared exactly with the token's `iss` and the discovery document's
    /// `issuer`.
    package var issuer: String
    /// The discovery document; default `<issuer>/.well-known/openid-configuration`.
    package var discovery: String?
    /// Accepted `aud` values: a token must name at least one.
    package var audiences: [String]
    /// Accepted signature algorithms; default RS256, ES256, EdDSA. Only asymmetric algorithms
    /// may be listed (RS/PS 256–512, ES256, ES384, EdDSA): never `none`, never HMAC.
    package var algorithms: [String]?
    /// Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds (default 60, at most 300).
    package var clockSkewSeconds: Int?
    /// Minimum seconds between key-set fetches caused by a token with an unknown key (default 60,
    /// 1…3600), so that nobody can make the node hammer the issuer.
    package var keyRefreshSeconds: Int?
    /// Seconds after which the key set is fetched again before use (default 3600). When the
    /// issuer cannot be reached, keys fetched within the last 24 hours stay in use.
    package var keyMaxAgeSeconds: Int?
    /// Claim names, as the Swedish OIDC profile names them unless set here.
    package var claims: ClaimNames?
    /// Client ids whose OAuth client-credentials tokens (`sub` equals `client_id`, no person
    /// claims) are accepted as system identities `client:<issuer>#<client id>`. Default: none.
    package var clients: [String]?
    /// The development issuer accepts any client id (not configurable).
    package var anyClient = false

    private enum CodingKeys: String, CodingKey {
        case issuer, discovery, audiences, algorithms, clockSkewSeconds, keyRefreshSeconds, keyMaxAgeSeconds, claims, clients
    }

    package init(issuer: String, audiences: [String]) {
        self.issuer = issuer
        self.audiences = audiences
    }

    package static let defaultAlgorithms = ["RS256", "ES256", "EdDSA"]
    /// The algorithms the verifier implements: asymmetric signatures only.
    package static let supportedAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]

    package var acceptedAlgorithms: [String] { algorithms ?? Self.defaultAlgorithms }
    package var skew: Double { Double(clockSkewSeconds ?? 60) }
    package var refreshInterval: Double { Double(keyRefreshSeconds ?? 60) }
    package var maxKeyAge: Double { Double(keyMaxAgeSeconds ?? 3600) }
    package var claimNames: ClaimNames { claims ?? ClaimNames() }
    package func accepts(client: String) -> Bool { anyClient || (clients ?? []).contains(client) }

    package var discoveryURL: String {
        discovery ?? (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
    }

    func problems() -> [String] {
        var out: [String] = []
        if let why = FetchPolicy.problem(with: issuer) { out.append("issuer \(issuer): \(why)") }
        if issuer.contains("#") || issuer.contains("?") { out.append("issuer \(issuer) may not have a query or fragment") }
        if !issuer.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) { out.append("issuer must be printable ASCII") }
        if audiences.isEmpty || audiences.contains("") { out.append("audiences must list at least one non-empty value") }
        for a in acceptedAlgorithms where !Self.supportedAlgorithms.contains(a) {
            out.append("algorithm \(a) is not accepted (only \(Self.supportedAlgorithms.sorted().joined(separator: ", ")); never none or HMAC)")
        }
        if acceptedAlgorithms.isEmpty { out.append("algorithms is empty") }
        if let s = clockSkewSeconds, !(0...300).contains(s) { out.append("clock_skew_seconds must be 0…300") }
        if let r = keyRefreshSeconds, !(1...3600).contains(r) { out.append("key_refresh_seconds must be 1…3600") }
        if let m = keyMaxAgeSeconds, !(60...86_400).contains(m) { out.append("key_max_age_seconds must be 60…86400") }
        if let why = FetchPolicy.problem(with: discoveryURL) { out.append("discovery \(discoveryURL): \(why)") }
        return out
    }
}

/// Where an issuer's tokens carry each identity, by claim name. Defaults follow the Swedish OIDC
/// profile's claims specification (oidc-sweden); HSA-ID has no claim there and is off unless named.
package struct ClaimNames: Codable, Sendable, Equatable {
    /// Swedish personal identity number, 12 digits → `pnr:`.
    package var personalIdentityNumber: String?
    /// HSA-ID → `hsa:` (no default).
    package var hsaId: String?
    /// The organisation number the person acts for → with the personal identity number, `aff:`.
    package var orgNumber: String?
    /// Organisational affiliation, `<personal id>@<org number>`, one or several → `aff:`.
    package var orgAffiliation: String?

    package init(personalIdentityNumber: String? = nil, hsaId: String? = nil, orgNumber: String? = nil, orgAffiliation: String? = nil) {
        self.personalIdentityNumber = personalIdentityNumber
        self.hsaId = hsaId
        self.orgNumber = orgNumber
        self.orgAffiliation = orgAffiliation
    }

    package var pnrClaim: String { personalIdentityNumber ?? "https://id.oidc.se/claim/personalIdentityNumber" }
    package var orgNumberClaim: String { orgNumber ?? "https://id.oidc.se/claim/orgNumber" }
    package var affiliationClaim: String { orgAffiliation ?? "https://id.oidc.se/claim/orgAffiliation" }
}
