import AsyncHTTPClient

/// Why a key set could not be fetched: the issuer could not be reached (keep recent keys), or it
/// answered something unusable (its answer is authoritative: drop the keys).
struct KeyFetchFailure: Error, Sendable {
    let error: AuthenticationError
    /// True when the issuer answered, and what it answered cannot be used.
    let authoritative: Bool
}

/// Where an issuer's current public keys come from.
protocol KeySource: Sendable {
    /// The issuer's key set as a JWKS document.
    func fetchKeySet() async throws(KeyFetchFailure) -> ClaimValue
}

/// OpenID Connect discovery: the discovery document (whose `issuer` must equal the configured
/// one exactly, OpenID Connect Discovery 1.0 §4.3) names `jwks_uri`; the key set is fetched from it.
struct DiscoveryKeySource: KeySource {
    let trust: IssuerTrust
    let client: HTTPClient

    func fetchKeySet() async throws(KeyFetchFailure) -> ClaimValue {
        let document = try await FetchPolicy.fetchJSON(trust.discoveryURL, client: client)
        guard document["issuer"]?.string == trust.issuer else {
            throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable,
                "\(trust.discoveryURL) names issuer \(document["issuer"]?.string ?? "(none)"), not \(trust.issuer)"), authoritative: true)
        }
        guard let jwksURI = document["jwks_uri"]?.string else {
            throw KeyFetchFailure(error: AuthenticationError(.issuerUnavailable, "\(trust.discoveryURL) has no jwks_uri"), authoritative: true)
        }
        return try await FetchPolicy.fetchJSON(jwksURI, client: client)
    }
}

/// A fixed key set (the development issuer's own public key).
struct StaticKeySource: KeySource {
    let keySet: ClaimValue

    func fetchKeySet() async throws(KeyFetchFailure) -> ClaimValue { keySet }
}
