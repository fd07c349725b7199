package import Identity

/// The node's token verifier, built from `identity` in `kvitto.json`: the configured issuers and,
/// when enabled, the development issuer whose key lives in the node directory.
package enum NodeIdentity {
    /// A verifier for `config`'s issuers. The caller shuts it down when done. `participants` gives
    /// the participant ids at each verification (a running node's roster); by default those of `config`.
    package static func verifier(config: NodeConfig, directory: String, participants: (@Sendable () -> [String])? = nil)
        throws(NodeError) -> TokenVerifier
    {
        let identity = config.identity ?? IdentityConfig()
        var development: DevelopmentIssuer?
        if identity.developmentIssuer?.enabled == true {
            development = try developmentIssuer(config: config, directory: directory)
        }
        let ids = config.participants.map(\.id) + (config.retiredParticipants ?? []).map(\.id)
        return TokenVerifier(config: identity, currentParticipants: participants ?? { ids }, development: development)
    }

    /// The development issuer, refused unless `identity.development_issuer.enabled` is true.
    package static func developmentIssuer(config: NodeConfig, directory: String) throws(NodeError) -> DevelopmentIssuer {
        do {
            return try DevelopmentIssuer.open(directory: directory, config: config.identity?.developmentIssuer)
        } catch {
            throw NodeError(.developmentIssuerOff, error.description)
        }
    }
}
