package import Identity

/// The node's token verifier, built from `identity` in `kvitto.json`: the configured issuers and,
/// when enabled, the development issuer whose key lives in the node directory.
package enum NodeIdentity {
    /// A verifier for `config`'s issuers. The caller shuts it down when done.
    package static func verifier(config: NodeConfig, directory: String) throws(NodeError) -> TokenVerifier {
        let identity = config.identity ?? IdentityConfig()
        var development: DevelopmentIssuer?
        if identity.developmentIssuer?.enabled == true {
            development = try developmentIssuer(config: config, directory: directory)
        }
        return TokenVerifier(config: identity, participants: config.participants.map(\.id), development: development)
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
