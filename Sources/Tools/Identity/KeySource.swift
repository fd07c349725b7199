import AsyncHTTPClient

/// Where an issuer's current public keys come from.
protocol KeySource: Sendable {
    /// The issuer's key set as a JWKS document.
    func fetchKeySet() async throws(AuthenticationError) -> ClaimValue
}

/// OpenID Connect discovery: the discovery document (whose `issuer` must equal the configured
/// one exactly, OpenID Connect Discovery 1.0 §4.3) names `jwks_uri`; the key set is fetched from it.
struct DiscoveryKeySource: KeySource {
    let trust: IssuerTrust
    let client: HTTPClient

    func fetchKeySet() async throws(AuthenticationError) -> ClaimValue {
        let document = try await FetchPolicy.fetchJSON(trust.discoveryURL, client: client)
        guard document["issuer"]?.string == trust.issuer else {
            throw AuthenticationError(.issuerUnavailable,
                "\(trust.discoveryURL) names issuer \(document["issuer"]?.string ?? "(none)"), not \(trust.issuer)")
        }
        guard let jwksURI = document["jwks_uri"]?.string else {
            throw AuthenticationError(.issuerUnavailable, "\(trust.discoveryURL) has no jwks_uri")
        }
        return try await FetchPolicy.fetchJSON(jwksURI, client: client)
    }
}

/// A fixed key set (the development issuer's own public key).
struct StaticKeySource: KeySource {
    let keySet: ClaimValue

    func fetchKeySet() async throws(AuthenticationError) -> ClaimValue { keySet }
}
